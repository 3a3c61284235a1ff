-- Demo customers for `make run`: the customers of the simulator's --demo
-- mode (worker/sim/mb_sim_demo.c: agus .. zaki, then agus2 .. lukman2, 36 in
-- all) on the router named 'demo-router', around Purwokerto (Central Java),
-- plus the spec's cases: "Egi Setiawan Sempu" (egisetiawansempu, offline
-- until `login egisetiawansempu` on the simulator's control port), a
-- customer without a PPPoE username (always OFFLINE), a static-IP customer
-- (UNKNOWN) and a hotspot voucher.  Two PPPoE names are stored in another
-- case than on the router (Citra, HENDRA): the sync matches them anyway.
--
-- Idempotent: customers that exist already (same username, or same PPPoE
-- name on the router) are left alone; nothing happens without the router.
-- scripts/run loads it right after it creates the demo router:
--   pg_psql "$PG_SOCKDIR" "$PG_PORT" -d mikrobill -f - <scripts/demo-customers.sql

INSERT INTO customers (name, username, service_type, pppoe_username,
                       static_ip, router_id, profile, phone, address,
                       latitude, longitude, status, conn_status)
SELECT d.name, d.username, d.service_type, d.pppoe_username,
       d.static_ip::inet, r.id, d.profile, d.phone, d.address,
       d.latitude, d.longitude, d.status,
       CASE WHEN d.service_type = 'static_ip' THEN 'unknown' ELSE 'offline' END
FROM routers r
CROSS JOIN (VALUES
    ('Agus Salim', 'agus', 'pppoe', 'agus', NULL, 'home-10M', '6282163403190', 'Jl. Overste Isdiman No. 41, Teluk, Purwokerto', -7.430902, 109.233558, 'active'),
    ('Budi Santoso', 'budi', 'pppoe', 'budi', NULL, 'biz-50M', '6287796551549', 'Jl. HR Bunyamin No. 29, Teluk, Purwokerto', -7.411283, 109.214439, 'active'),
    ('Citra Lestari', 'citra', 'pppoe', 'Citra', NULL, 'home-20M', '6281340561773', 'Jl. Gatot Subroto No. 34, Bobosan, Purwokerto', -7.454595, 109.19777, 'active'),
    ('Dewi Anggraini', 'dewi', 'pppoe', 'dewi', NULL, 'home-10M', '6287705577982', 'Jl. Gatot Subroto No. 124, Kranji, Purwokerto', -7.407202, 109.252325, 'active'),
    ('Eko Prasetyo', 'eko', 'pppoe', 'eko', NULL, 'home-20M', '6281242030998', 'Jl. Ahmad Yani No. 73, Arcawinangun, Purwokerto', -7.389954, 109.24913, 'active'),
    ('Fajar Nugroho', 'fajar', 'pppoe', 'fajar', NULL, 'home-20M', '6285713906097', 'Jl. Overste Isdiman No. 37, Grendeng, Purwokerto', -7.420057, 109.222562, 'active'),
    ('Gita Permata', 'gita', 'pppoe', 'gita', NULL, 'home-10M', '6285214106428', 'Jl. Kober No. 174, Karangwangkal, Purwokerto', -7.394224, 109.249013, 'active'),
    ('Hendra Wijaya', 'hendra', 'pppoe', 'HENDRA', NULL, 'home-10M', '6285274189587', 'Jl. Overste Isdiman No. 73, Kranji, Purwokerto', -7.399436, 109.268524, 'active'),
    ('Indah Puspitasari', 'indah', 'pppoe', 'indah', NULL, 'biz-50M', '6289515422217', 'Jl. Prof. Dr. Suharso No. 167, Arcawinangun, Purwokerto', -7.438508, 109.222447, 'active'),
    ('Joko Susilo', 'joko', 'pppoe', 'joko', NULL, 'biz-50M', '6282148853038', 'Jl. Sunan Kalijaga No. 19, Teluk, Purwokerto', -7.395663, 109.196938, 'active'),
    ('Kartika Sari', 'kartika', 'pppoe', 'kartika', NULL, 'home-10M', '6289542395815', 'Jl. Dr. Angka No. 128, Grendeng, Purwokerto', -7.440479, 109.223195, 'active'),
    ('Lukman Hakim', 'lukman', 'pppoe', 'lukman', NULL, 'home-20M', '6287769873322', 'Jl. Karangkobar No. 2, Arcawinangun, Purwokerto', -7.395852, 109.196518, 'active'),
    ('Maya Rahmawati', 'maya', 'pppoe', 'maya', NULL, 'home-10M', '6282123801116', 'Jl. Ahmad Yani No. 129, Sokanegara, Purwokerto', -7.437713, 109.233055, 'active'),
    ('Nanda Pratama', 'nanda', 'pppoe', 'nanda', NULL, 'home-10M', '6285229158959', 'Jl. Kampus No. 5, Sokanegara, Purwokerto', -7.414822, 109.21485, 'active'),
    ('Oki Setiawan', 'oki', 'pppoe', 'oki', NULL, 'home-10M', '6282112812646', 'Jl. Dr. Angka No. 64, Bantarsoka, Purwokerto', -7.403802, 109.199572, 'active'),
    ('Putri Handayani', 'putri', 'pppoe', 'putri', NULL, 'home-20M', '6287722724777', 'Jl. Kampus No. 77, Bantarsoka, Purwokerto', -7.440274, 109.202123, 'active'),
    ('Rudi Hartono', 'rudi', 'pppoe', 'rudi', NULL, 'home-20M', '6289571493437', 'Jl. Kober No. 199, Grendeng, Purwokerto', -7.398042, 109.229906, 'active'),
    ('Sari Wulandari', 'sari', 'pppoe', 'sari', NULL, 'home-20M', '6287740486103', 'Jl. Ahmad Yani No. 78, Sokanegara, Purwokerto', -7.435355, 109.219293, 'active'),
    ('Taufik Hidayat', 'taufik', 'pppoe', 'taufik', NULL, 'biz-50M', '6285757709904', 'Jl. HR Bunyamin No. 168, Karangwangkal, Purwokerto', -7.447404, 109.241236, 'active'),
    ('Umi Kalsum', 'umi', 'pppoe', 'umi', NULL, 'biz-50M', '6281252070146', 'Jl. Overste Isdiman No. 42, Kranji, Purwokerto', -7.406432, 109.217442, 'active'),
    ('Vina Oktaviani', 'vina', 'pppoe', 'vina', NULL, 'biz-50M', '6281251000885', 'Jl. Kober No. 128, Purwokerto Wetan, Purwokerto', -7.44137, 109.261412, 'active'),
    ('Wahyu Saputra', 'wahyu', 'pppoe', 'wahyu', NULL, 'home-10M', '6289500060811', 'Jl. Pramuka No. 199, Karangwangkal, Purwokerto', -7.393419, 109.216752, 'active'),
    ('Yanti Susanti', 'yanti', 'pppoe', 'yanti', NULL, 'home-20M', '6281267983186', 'Jl. Overste Isdiman No. 166, Teluk, Purwokerto', -7.41533, 109.236436, 'active'),
    ('Zaki Ramadhan', 'zaki', 'pppoe', 'zaki', NULL, 'home-10M', '6285244385198', 'Jl. Prof. Dr. Suharso No. 179, Teluk, Purwokerto', -7.405346, 109.200891, 'active'),
    ('Agus Riyanto', 'agus2', 'pppoe', 'agus2', NULL, 'home-10M', '6289562063339', 'Jl. Dr. Angka No. 110, Arcawinangun, Purwokerto', -7.457641, 109.205899, 'active'),
    ('Budi Harjono', 'budi2', 'pppoe', 'budi2', NULL, 'home-10M', '6287757884952', 'Jl. Jend. Soedirman No. 124, Kranji, Purwokerto', -7.430037, 109.216557, 'active'),
    ('Citra Ayu Ningsih', 'citra2', 'pppoe', 'citra2', NULL, 'home-20M', '6285234998370', 'Jl. Pramuka No. 22, Karangwangkal, Purwokerto', -7.409551, 109.242856, 'active'),
    ('Dewi Kusumawati', 'dewi2', 'pppoe', 'dewi2', NULL, 'biz-50M', '6282252400816', 'Jl. Sunan Kalijaga No. 144, Bantarsoka, Purwokerto', -7.425206, 109.209327, 'active'),
    ('Eko Budiarto', 'eko2', 'pppoe', 'eko2', NULL, 'biz-50M', '6282274952648', 'Jl. Pramuka No. 103, Arcawinangun, Purwokerto', -7.442671, 109.257462, 'active'),
    ('Fajar Maulana', 'fajar2', 'pppoe', 'fajar2', NULL, 'home-10M', '6281218580687', 'Jl. Dr. Angka No. 174, Grendeng, Purwokerto', -7.423122, 109.219997, 'active'),
    ('Gita Savitri', 'gita2', 'pppoe', 'gita2', NULL, 'home-20M', '6287704810564', 'Jl. Jend. Soedirman No. 48, Purwokerto Wetan, Purwokerto', -7.45868, 109.202868, 'suspended'),
    ('Hendra Gunawan', 'hendra2', 'pppoe', 'hendra2', NULL, 'home-20M', '6282240025664', 'Jl. Prof. Dr. Suharso No. 135, Purwokerto Wetan, Purwokerto', -7.414455, 109.227005, 'active'),
    ('Indah Cahyani', 'indah2', 'pppoe', 'indah2', NULL, 'home-10M', '6281376783355', 'Jl. Prof. Dr. Suharso No. 199, Sokanegara, Purwokerto', -7.401098, 109.191444, 'active'),
    ('Joko Purnomo', 'joko2', 'pppoe', 'joko2', NULL, 'home-20M', '6285286093964', 'Jl. Jend. Soedirman No. 177, Teluk, Purwokerto', -7.448821, 109.248338, 'active'),
    ('Kartika Dewi', 'kartika2', 'pppoe', 'kartika2', NULL, 'home-10M', '6289514180291', 'Jl. Jend. Soedirman No. 178, Purwokerto Wetan, Purwokerto', -7.392296, 109.198159, 'active'),
    ('Lukman Nurhadi', 'lukman2', 'pppoe', 'lukman2', NULL, 'home-20M', '6281265038908', 'Jl. Gatot Subroto No. 111, Sokanegara, Purwokerto', -7.456311, 109.200309, 'active'),
    ('Egi Setiawan Sempu', 'egisetiawansempu', 'pppoe', 'egisetiawansempu', NULL, 'home-10M', '6285778355217', 'Jl. Jend. Soedirman No. 13, Berkoh, Purwokerto', -7.457007, 109.199916, 'active'),
    ('Slamet Riyadi', 'slamet', 'pppoe', NULL, NULL, 'home-10M', '6285765784072', 'Jl. Dr. Angka No. 151, Grendeng, Purwokerto', -7.442653, 109.21177, 'active'),
    ('Toko Berkah Jaya', 'tokoberkah', 'static_ip', NULL, '10.20.30.40', 'biz-50M', '622816312345', 'Jl. Kampus No. 187, Sokanegara, Purwokerto', -7.437593, 109.2172, 'active'),
    ('Warung Kopi Mbak Nur', 'warkopnur', 'hotspot', 'voucher-1001', NULL, NULL, '6281264966062', 'Jl. Karangkobar No. 24, Kranji, Purwokerto', -7.444825, 109.234657, 'active')
) AS d (name, username, service_type, pppoe_username, static_ip, profile,
        phone, address, latitude, longitude, status)
WHERE r.name = 'demo-router'
ON CONFLICT DO NOTHING;
