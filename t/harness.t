# The test harness itself (t/MikroBill.pm), against plain nginx: no module.
# Valid for the real Test::Nginx::Socket as well.
use lib '.';
use t::MikroBill;

plan tests => repeat_each() * 27;

run_tests();

__DATA__

=== TEST 1: a plain return
--- config
    location = /hi { return 200 "hi"; }
--- request
GET /hi
--- response_body chomp
hi



=== TEST 2: several requests in sequence, expectations as arrays
--- config
    location = /a { return 200 "a\n"; }
    location = /b { return 201 "b\n"; }
--- request eval
["GET /a", "GET /b", "GET /nowhere"]
--- error_code eval
[200, 201, 404]
--- response_body_like eval
["^a\$", "^b\$", "404 Not Found"]



=== TEST 3: response headers, present and absent
--- config
    location = /h {
        add_header X-Test yes;
        return 200 "ok";
    }
--- request
GET /h
--- response_headers
X-Test: yes
Content-Length: 2
!X-Absent



=== TEST 4: request bodies are trimmed and get a Content-Length
--- config
    location = /len { return 200 "len=$content_length"; }
--- request
POST /len
  hello world  
--- response_body chomp
len=11



=== TEST 5: $TEST_NGINX_ variables in config; $ENV in eval sections
--- config
    location = /port { return 200 "$server_port $http_x_port"; }
--- more_headers eval
"X-Port: $ENV{TEST_NGINX_SERVER_PORT}"
--- request
GET /port
--- response_body eval
"$ENV{TEST_NGINX_SERVER_PORT} $ENV{TEST_NGINX_SERVER_PORT}"



=== TEST 6: chunked responses are decoded
--- config
    location = /chunked {
        sub_filter_types *;
        sub_filter 'x' 'yy';
        return 200 "axb";
    }
--- request
GET /chunked
--- response_headers
Transfer-Encoding: chunked
--- response_body chomp
ayyb



=== TEST 7: error_log and no_error_log
--- config
    location /missing { root /nonexistent-mikrobill; }
--- request
GET /missing/file
--- error_code: 404
--- error_log
No such file or directory
--- no_error_log
[crit]



=== TEST 8: raw_request is sent as is
--- config
    location = /raw { return 200 "$request_method $http_host"; }
--- raw_request eval
"PUT /raw HTTP/1.0\r\nHost: example.test\r\nContent-Length: 0\r\n\r\n"
--- response_body chomp
PUT example.test



=== TEST 9: header checks by pattern
--- config
    location = /like { add_header X-Id "id-12345"; return 204; }
--- request
GET /like
--- error_code: 204
--- response_headers_like
X-Id: id-\d+
--- response_body chomp
