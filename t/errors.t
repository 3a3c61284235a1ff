# Errors are JSON: the router's own (404, 405, 400 for bodies) and nginx's
# (413, 400, ...) through "error_page ... @mikrobill_error".
use lib '.';
use t::MikroBill;

mb_use_defaults();
run_tests();
done_testing() unless Test::More->builder->has_plan;


__DATA__

=== TEST 1: unknown path
--- request
GET /api/nope
--- error_code: 404
--- response_headers
Content-Type: application/json; charset=utf-8
Cache-Control: no-store
--- response_body chomp
{"error":"not_found","message":"Tidak ditemukan"}



=== TEST 2: a route pattern needs its whole path
--- request eval
["GET /api/users/", "GET /api/users/1/x", "GET /api/healthz", "GET /api"]
--- error_code eval
[404, 404, 404, 404]
--- response_body_like eval
[("^\\{\"error\":\"not_found\"") x 4]



=== TEST 3: wrong method on a known path, with Allow
--- request
DELETE /api/me
--- error_code: 405
--- response_headers
Allow: GET, HEAD
Content-Type: application/json; charset=utf-8
--- response_body chomp
{"error":"method_not_allowed","message":"Metode tidak diizinkan"}



=== TEST 4: Allow lists every method of the path
--- request
OPTIONS /api/users
--- error_code: 405
--- response_headers
Allow: GET, HEAD, POST
--- response_body_like chomp
"error":"method_not_allowed"



=== TEST 5: Allow for a path with an id
--- request
POST /api/users/0b7e6f1c-0000-4000-8000-000000000000
--- error_code: 405
--- response_headers
Allow: GET, HEAD, PUT, PATCH, DELETE



=== TEST 6: HEAD of an unknown path: 404 without a body
--- request
HEAD /api/nope
--- error_code: 404
--- response_body chomp



=== TEST 7: body larger than client_max_body_size
--- config
        location /api/ {
            mikrobill_api;
            client_max_body_size 1k;
        }
        error_page 400 404 405 408 413 414 500 502 503 504 @mikrobill_error;
        location @mikrobill_error {
            mikrobill_error_page;
        }
--- request eval
"POST /api/auth/login\n" . ("x" x 4096)
--- more_headers
Content-Type: application/json
--- error_code: 413
--- response_headers
Content-Type: application/json; charset=utf-8
--- response_body chomp
{"error":"payload_too_large","message":"Isi permintaan terlalu besar"}



=== TEST 8: malformed JSON
--- request
POST /api/auth/login
{"username": "a", 
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"bad_request","message":"Isi permintaan bukan JSON yang valid"}



=== TEST 9: JSON that is not an object
--- request
POST /api/auth/login
["a", "b"]
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"bad_request","message":"Isi permintaan harus berupa objek JSON"}



=== TEST 10: a body read into a temporary file is parsed as well
--- config
        location /api/ {
            mikrobill_api;
            client_body_buffer_size 128;
            client_max_body_size 64k;
        }
        error_page 400 404 405 408 413 414 500 502 503 504 @mikrobill_error;
        location @mikrobill_error {
            mikrobill_error_page;
        }
--- request eval
"POST /api/auth/login\n" . '["' . ("y" x 2000) . '"]'
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"bad_request","message":"Isi permintaan harus berupa objek JSON"}
--- error_log
a client request body is buffered to a temporary file



=== TEST 11: nginx's own 400 for a malformed header is JSON
--- raw_request eval
"GET /api/health HTTP/1.1\r\nHost: localhost\r\nBad Header\r\nConnection: close\r\n\r\n"
--- error_code: 400
--- response_body chomp
{"error":"bad_request","message":"Permintaan tidak valid"}



=== TEST 12: nginx's own 400 for a broken chunked body is JSON
--- raw_request eval
"POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n"
--- error_code: 400
--- response_body chomp
{"error":"bad_request","message":"Permintaan tidak valid"}



=== TEST 13: a method nginx does not know
--- request
PROPFIND /api/health
--- error_code: 405
--- response_headers
Allow: GET, HEAD
--- response_body_like chomp
"error":"method_not_allowed"



=== TEST 14: a protected route without credentials
--- request
GET /api/users
--- error_code: 401
--- response_body chomp
{"error":"unauthorized","message":"Silakan login terlebih dahulu"}



=== TEST 15: the error location answers nginx's 404 for other paths
--- config
        location /api/ {
            mikrobill_api;
        }
        location = /missing {
            return 404;
        }
        error_page 400 404 405 408 413 414 500 502 503 504 @mikrobill_error;
        location @mikrobill_error {
            mikrobill_error_page;
        }
--- request
GET /missing
--- error_code: 404
--- response_body chomp
{"error":"not_found","message":"Tidak ditemukan"}



=== TEST 16: 414 needs a URI error location (a named one cannot serve a request without URI)
--- config
        location /api/ {
            mikrobill_api;
        }
        error_page 400 404 405 408 413 414 494 500 502 503 504 /_mikrobill_error;
        location = /_mikrobill_error {
            internal;
            mikrobill_error_page;
        }
--- raw_request eval
"GET /api/" . ("a" x 10000) . " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
--- error_code: 414
--- response_body chomp
{"error":"uri_too_long","message":"URI permintaan terlalu panjang"}



=== TEST 17: a garbage request line through the URI error location
--- config
        location /api/ {
            mikrobill_api;
        }
        error_page 400 404 405 408 413 414 494 500 502 503 504 /_mikrobill_error;
        location = /_mikrobill_error {
            internal;
            mikrobill_error_page;
        }
--- raw_request eval
"GARBAGE\r\n\r\n"
--- error_code: 400
--- response_body chomp
{"error":"bad_request","message":"Permintaan tidak valid"}



=== TEST 18: the URI error location cannot be requested directly
--- config
        location /api/ {
            mikrobill_api;
        }
        error_page 400 404 405 408 413 414 494 500 502 503 504 /_mikrobill_error;
        location = /_mikrobill_error {
            internal;
            mikrobill_error_page;
        }
--- request
GET /_mikrobill_error
--- error_code: 404
--- response_body chomp
{"error":"not_found","message":"Tidak ditemukan"}
