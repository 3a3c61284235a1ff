# mikrobill-ros-sim on its own: the RouterOS API wire format spoken from
# Perl (length encodings, both login styles, tags, /cancel, traps, queries,
# !empty), the menus, the seed file and every control command.  The client
# tests (engineer C) and t/ros_node.t build on what this file pins down.
use strict;
use warnings;
use lib '.';

use Test::More;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep time);
use t::RosSim;

*attrs = \&t::RosSim::Api::attrs;
*trap = \&t::RosSim::Api::trap_message;

# inside make test a missing binary is a failure, never a quiet skip
if (!-x t::RosSim::binary()) {
    BAIL_OUT('mikrobill-ros-sim is not built') if $ENV{MIKROBILL_TEST_DIR};
    plan skip_all => 'mikrobill-ros-sim is not built (make sim)';
}

my $dir = tempdir(CLEANUP => 1);

sub types { join ' ', map { $_->[0] } @_ }
sub res { grep { $_->[0] eq '!re' } @_ }

# the replies of one tag, skipping other commands' sentences
sub tagged {
    my ($api, $tag) = @_;
    my @r;
    while (my $s = $api->read_sentence(3)) {
        next unless (attrs($s)->{'.tag'} // '') eq $tag;
        push @r, $s;
        last if $s->[0] eq '!done';
    }
    return @r;
}

sub logged_in {
    my ($sim) = @_;
    my $a = $sim->api;
    my ($ok, $msg) = $a->login('admin', 'pw');
    die "login failed: " . ($msg // '') unless $ok;
    return $a;
}

# ---------------------------------------------------------------- seed

open(my $fh, '>', "$dir/seed.json") or die;
print $fh <<'JSON';
{
  "identity": "seeded-router",
  "users": [ { "name": "ops", "password": "ops-pw" } ],
  "profiles": [ { "name": "10M", "rate-limit": "5M/10M" } ],
  "secrets": [
    { "name": "ani", "password": "a1", "profile": "10M",
      "remote-address": "10.9.0.2", "disabled": false },
    { "name": "bayu", "password": "b2", "comment": "tower 2" }
  ],
  "address-list": [ { "list": "isolir", "address": "10.9.0.9" } ],
  "active": [ { "name": "ani", "caller-id": "AA:BB:CC:00:00:01",
                "rx-bps": 1000000, "tx-bps": 8000000 } ],
  "hotspot": [ { "user": "v-100", "address": "10.5.0.10" } ]
}
JSON
close $fh;

my $sim = t::RosSim->start(version => '7.12', users => ['admin:pw'],
                           args => ['--seed', "$dir/seed.json"]);

subtest 'login (plain, 6.43+)' => sub {
    my $a = $sim->api;
    my @r = $a->cmd('/system/identity/print');
    is(trap(@r), 'not logged in', 'commands before login trap');
    is(types(@r), '!trap !done', 'a trap is followed by !done');
    my ($ok, $msg) = $a->login('admin', 'wrong');
    ok(!$ok, 'wrong password refused');
    is($msg, 'invalid user name or password (6)', 'RouterOS wording');
    ($ok) = $a->login('nobody', 'pw');
    ok(!$ok, 'unknown user refused');
    ($ok) = $a->login('admin', 'pw');
    ok($ok, 'right password accepted, same connection');
    my $b = $sim->api;
    ($ok) = $b->login('ops', 'ops-pw');
    ok($ok, 'a user from the seed logs in');
    @r = $a->cmd('/system/identity/print');
    is(attrs($r[0])->{name}, 'seeded-router', 'identity from the seed');
};

my $api = logged_in($sim);

subtest 'seed' => sub {
    my @r = $api->cmd('/ppp/secret/print');
    is(scalar(res(@r)), 2, 'two secrets');
    my $ani = attrs((res(@r))[0]);
    is($ani->{profile}, '10M', 'profile');
    is($ani->{'remote-address'}, '10.9.0.2', 'remote-address');
    is($ani->{disabled}, 'false', 'booleans print as true/false');
    @r = $api->cmd('/ppp/active/print');
    my $s = attrs((res(@r))[0]);
    is($s->{name}, 'ani', 'seeded session');
    is($s->{address}, '10.9.0.2', 'address from the secret');
    is($s->{'caller-id'}, 'AA:BB:CC:00:00:01', 'caller-id');
    like($s->{'.id'}, qr/^\*[0-9A-F]+$/, 'id');
    like($s->{uptime}, qr/^\d+s$/, 'uptime in RouterOS form');
    @r = $api->cmd('/interface/monitor-traffic', '=interface=<pppoe-ani>',
                   '=once=');
    is(attrs($r[0])->{'tx-bits-per-second'}, '8000000', 'seeded rate');
    @r = $api->cmd('/ip/hotspot/active/print');
    is(attrs($r[0])->{user}, 'v-100', 'hotspot session');
    @r = $api->cmd('/ip/firewall/address-list/print');
    is(attrs($r[0])->{list}, 'isolir', 'address-list entry');
};

subtest 'length encodings both ways' => sub {
    for my $len (0, 1, 0x7F, 0x80, 0x3FFF, 0x4000, 0x1FFFFF, 0x200000) {
        my $name = "len$len";
        # the comment word is "=comment=" + value: put the word itself on
        # the boundary
        my $vlen = $len > 9 ? $len - 9 : 0;
        my $value = 'y' x $vlen;
        my @r = $api->cmd('/ppp/secret/add', "=name=$name",
                          "=comment=$value");
        is(types(@r), '!done', "add with a $len-byte word");
        @r = $api->cmd('/ppp/secret/print', "?name=$name",
                       '=.proplist=comment');
        is(length(attrs($r[0])->{comment} // 'x'), $vlen,
           "read back $len bytes");
        $api->cmd('/ppp/secret/remove', "=.id=$name");
    }
    # a sentence trickling in a byte at a time
    my $bytes = t::RosSim::Api::encode('/system/identity/print', '.tag=slow');
    for my $b (split //, $bytes) {
        $api->send_raw($b);
        sleep 0.002;
    }
    my @r = $api->replies;
    is(attrs($r[0])->{'.tag'}, 'slow', 'byte-by-byte input parses');
    # a four-byte length prefix for a short word is still read
    @r = do {
        $api->send_raw("\xE0\x00\x00\x16/system/identity/print"
                       . "\x09.tag=long\0");
        $api->replies;
    };
    is(attrs($r[0])->{name}, 'seeded-router', 'over-long prefix accepted');
};

subtest 'tags and concurrent commands' => sub {
    $api->send_raw(join '',
        t::RosSim::Api::encode('/system/resource/print', '.tag=a'),
        t::RosSim::Api::encode('/ppp/secret/print', '.tag=b',
                               '?name=nobody'),
        t::RosSim::Api::encode('/ppp/foo/print', '.tag=c'));
    my %by;
    for (1 .. 5) {
        my $s = $api->read_sentence or last;
        push @{ $by{ attrs($s)->{'.tag'} // '' } }, $s->[0];
    }
    is("@{ $by{a} }", '!re !done', 'tag a: one item');
    is("@{ $by{b} }", '!done', 'tag b: nothing (7.12 has no !empty)');
    is("@{ $by{c} }", '!trap !done', 'tag c: trap');
    $api->send('/system/identity/print', '.tag=x');
    my $s = $api->read_sentence;
    is($s->[1], '.tag=x', '.tag comes right after the reply word');
    $api->replies;
};

subtest 'secrets: add, print, set, remove, traps' => sub {
    my @r = $api->cmd('/ppp/secret/add', '=name=citra', '=password=a=b=c',
                      '=profile=10M', '=comment=', '.tag=9');
    is(types(@r), '!done', 'add');
    my $id = attrs($r[0])->{ret};
    like($id, qr/^\*[0-9A-F]+$/, '!done =ret=*ID');
    is(attrs($r[0])->{'.tag'}, '9', 'tagged');
    @r = $api->cmd('/ppp/secret/print', '?name=citra');
    my $c = attrs($r[0]);
    is($c->{password}, 'a=b=c', "a value holding '='");
    is($c->{comment}, '', 'an empty value');
    is($c->{'.id'}, $id, 'the id');
    @r = $api->cmd('/ppp/secret/set', "=.id=$id", '=disabled=yes',
                   '=remote-address=10.9.0.3');
    is(types(@r), '!done', 'set');
    @r = $api->cmd('/ppp/secret/print', "?.id=$id",
                   '=.proplist=disabled,remote-address');
    is_deeply(attrs($r[0]), { disabled => 'true',
                              'remote-address' => '10.9.0.3' },
              'set took, .proplist trims');
    is(trap($api->cmd('/ppp/secret/add', '=name=citra')),
       'failure: secret with the same name already exists', 'duplicate');
    is(trap($api->cmd('/ppp/secret/set', '=.id=*FFFF', '=comment=x')),
       'no such item', 'bad id');
    is(trap($api->cmd('/ppp/secret/set', "=.id=$id", '=disabled=maybe')),
       'invalid value for argument disabled', 'bad value');
    is(trap($api->cmd('/ppp/secret/set', "=.id=$id",
                      '=remote-address=10.1')),
       'invalid value for argument remote-address', 'bad address');
    is(trap($api->cmd('/ppp/secret/add', '=name=dodi', '=profile=nope')),
       'input does not match any value of profile', 'unknown profile');
    is(trap($api->cmd('/ppp/secret/add', '=name=dodi', '=colour=red')),
       'unknown parameter colour', 'unknown parameter');
    is(trap($api->cmd('/ppp/secret/add', '=password=x')),
       'missing value(s) of argument(s) name', 'name is required');
    @r = $api->cmd('/ppp/secret/print', '?name=citra',
                   '=.proplist=disabled');
    is(attrs($r[0])->{disabled}, 'true', 'a refused set changed nothing');
    is(trap($api->cmd('/ppp/secret/frob')), 'no such command',
       'unknown verb');
    is(trap($api->cmd('/ppp/nothing/print')), 'no such command prefix',
       'unknown menu');
    @r = $api->cmd('/ppp/secret/add', '=name=eka');
    my $id2 = attrs($r[0])->{ret};
    is(trap($api->cmd('/ppp/secret/remove', "=.id=$id,*FFFF")),
       'no such item', 'remove with one bad id');
    @r = $api->cmd('/ppp/secret/remove', "=.id=$id,$id2");
    is(types(@r), '!done', 'remove two at once');
    @r = $api->cmd('/ppp/secret/print', '?name=citra');
    is(types(@r), '!done', 'gone');
};

subtest 'queries, .proplist, count-only' => sub {
    for my $n (qw(q1 q2 q3)) {
        $api->cmd('/ppp/secret/add', "=name=$n", "=limit-bytes-in="
                  . substr($n, 1) . '000', $n eq 'q2' ? '=comment=c' : ());
    }
    my $names = sub {
        join ',', map { attrs($_)->{name} } res($api->cmd(
            '/ppp/secret/print', '=.proplist=name', @_));
    };
    is($names->('?>limit-bytes-in=1500', '?<limit-bytes-in=3000'), 'q2',
       '?> and ?< (numbers)');
    is($names->('?name=q1', '?name=q3', '?#|'), 'q1,q3', '?#| (or)');
    is($names->('?comment', '?name=q2', '?#&'), 'q2', '?#& and ?name');
    is($names->('?-comment', '?limit-bytes-in=0', '?#!'), 'q1,q3',
       '?-name and ?#! (not)');
    my @r = $api->cmd('/ppp/secret/print', '=count-only=');
    is(attrs($r[-1])->{ret}, '5', 'count-only answers =ret=N');
    @r = $api->cmd('/ppp/secret/print', '?name=q1', '=.proplist=.id,nope');
    is_deeply([ keys %{ attrs($r[0]) } ], ['.id'],
              '.proplist keeps only what exists');
    @r = $api->cmd('/ppp/profile/print', '=.proplist=.id,name');
    is(join(' ', map { attrs($_)->{'.id'} } res(@r)), '*0 *1 *FFFFFFFE',
       'built-in profiles *0 and *FFFFFFFE around the added one');
    $api->cmd('/ppp/secret/remove', '=.id=q1,q2,q3');
};

subtest 'address-list' => sub {
    my @r = $api->cmd('/ip/firewall/address-list/add', '=list=isolir',
                      '=address=10.9.0.10', '=comment=unpaid');
    my $id = attrs($r[0])->{ret};
    ok($id, 'add');
    is(trap($api->cmd('/ip/firewall/address-list/add', '=list=isolir',
                      '=address=10.9.0.10')),
       'failure: already have such entry', 'duplicate');
    is(trap($api->cmd('/ip/firewall/address-list/add', '=list=isolir',
                      '=address=10.9.0.300')),
       'invalid value for argument address', 'bad address');
    is(trap($api->cmd('/ip/firewall/address-list/remove', '=.id=*999')),
       'no such item', 'bad id');
    @r = $api->cmd('/ip/firewall/address-list/add', '=list=tmp',
                   '=address=10.9.0.11', '=timeout=2s');
    @r = $api->cmd('/ip/firewall/address-list/print', '?list=tmp');
    my $e = attrs($r[0]);
    is($e->{dynamic}, 'true', 'with a timeout: dynamic');
    like($e->{timeout}, qr/^[12]s$/, 'timeout counts down');
    ok($e->{'creation-time'}, 'creation-time');
    sleep 3.2;
    @r = $api->cmd('/ip/firewall/address-list/print', '?list=tmp');
    is(types(@r), '!done', 'expired entry gone');
    @r = $api->cmd('/ip/firewall/address-list/remove', "=.id=$id");
    is(types(@r), '!done', 'remove');
};

subtest 'sessions, interfaces, monitor-traffic, /cancel' => sub {
    like($sim->ctl('login budi 10.9.1.5 AA:00:00:00:00:05'), qr/^OK \*/,
         'control login');
    like($sim->ctl('login budi'), qr/^ERR already active/, 'twice: ERR');
    is($sim->ctl('rate budi 2000000 16000000'), 'OK', 'control rate');
    my @r = $api->cmd('/interface/print', '?name=<pppoe-budi>');
    my $if = attrs($r[0]);
    is($if->{type}, 'pppoe-in', 'dynamic interface type');
    is($if->{dynamic}, 'true', 'dynamic');
    @r = $api->cmd('/interface/monitor-traffic', '=interface=<pppoe-budi>',
                   '=once=', '.tag=m');
    is(types(@r), '!re !done', 'once: one !re then !done');
    my $m = attrs($r[0]);
    is($m->{'rx-bits-per-second'}, '2000000', 'rx rate');
    is($m->{'tx-bits-per-second'}, '16000000', 'tx rate');
    ok(exists $m->{$_}, "field $_") for qw(rx-packets-per-second
        tx-packets-per-second fp-rx-bits-per-second rx-drops-per-second
        tx-errors-per-second);
    is($m->{'.section'}, '0', 'v7 numbers monitor sections (.section)');
    is(trap($api->cmd('/interface/monitor-traffic', '=interface=nope',
                      '=once=')),
       'input does not match any value of interface', 'unknown interface');

    $api->send('/interface/monitor-traffic', '=interface=<pppoe-budi>',
               '=interval=200ms', '.tag=s1');
    $api->send('/interface/monitor-traffic', '=interface=ether1',
               '=interval=300ms', '.tag=s2');
    my %n;
    my $t0 = time;
    while (time - $t0 < 1.1) {
        my $s = $api->read_sentence(1) or last;
        $n{ attrs($s)->{'.tag'} }++;
    }
    ok($n{s1} >= 4 && $n{s2} >= 2, "two streams at once ($n{s1}, $n{s2})");
    $api->send('/cancel', '=tag=s1', '.tag=c1');
    my @seq;
    while (my $s = $api->read_sentence(1)) {
        my $tag = attrs($s)->{'.tag'};
        next if $tag eq 's2' || $s->[0] eq '!re';
        push @seq, "$s->[0]:$tag";
        last if "$s->[0]:$tag" eq '!done:s1';
    }
    is("@seq", '!trap:s1 !done:c1 !done:s1',
       '/cancel: trap of the stream, done of the cancel, done of the stream');
    $api->send('/cancel', '=tag=s1', '.tag=c2');
    is(types(tagged($api, 'c2')), '!done',
       'cancelling a finished command is just !done');

    # a kick (API remove) ends the stream on that interface with a trap
    $api->send('/interface/monitor-traffic', '=interface=<pppoe-budi>',
               '.tag=s3');
    $api->read_sentence;
    @r = $api->cmd('/ppp/active/print', '?name=budi', '=.proplist=.id');
    $api->send('/ppp/active/remove', '=' . '.id=' . attrs($r[0])->{'.id'},
               '.tag=k');
    my @got;
    while (my $s = $api->read_sentence(2)) {
        my $tag = attrs($s)->{'.tag'};
        next if $tag eq 's2';
        push @got, "$s->[0]:$tag";
        push @got, attrs($s)->{message} if $s->[0] eq '!trap';
        last if @got >= 4;
    }
    is("@got", '!trap:s3 interface not found !done:s3 !done:k',
       'the stream of a kicked session ends with a trap');
    @r = $api->cmd('/interface/print', '?name=<pppoe-budi>');
    is(types(@r), '!done', 'its interface is gone');
    @r = $api->cmd('/ppp/secret/print', '?name=bayu');
    is(types(@r), '!re !done', 'the connection goes on');

    # /cancel without a tag cancels everything left
    $api->send('/cancel', '.tag=all');
    @seq = ();
    while (my $s = $api->read_sentence(1)) {
        next if $s->[0] eq '!re';
        push @seq, "$s->[0]:" . attrs($s)->{'.tag'};
        last if $s->[0] eq '!done' && attrs($s)->{'.tag'} eq 's2';
    }
    is("@seq", '!trap:s2 !done:all !done:s2', '/cancel with no tag');

    like($sim->ctl('login dewi'), qr/^OK/, 'login again');
    $api->send('/interface/monitor-traffic', '=interface=<pppoe-dewi>',
               '.tag=s4');
    $api->read_sentence;
    is($sim->ctl('logout dewi'), 'OK', 'control logout');
    my $s = $api->read_sentence(2);
    is(trap($s), 'interface not found', 'logout ends the stream too');
    $api->read_sentence(2);
    like($sim->ctl('logout dewi'), qr/^ERR/, 'logout twice: ERR');
    like($sim->ctl('rate nobody 1 1'), qr/^ERR/, 'rate of nobody: ERR');
};

subtest 'hotspot, identity, resource' => sub {
    like($sim->ctl('hotspot-login v-200 10.5.0.20 B8:27:EB:00:00:20'),
         qr/^OK \*/, 'hotspot-login');
    my @r = $api->cmd('/ip/hotspot/active/print', '?user=v-200');
    my $h = attrs($r[0]);
    is($h->{'mac-address'}, 'B8:27:EB:00:00:20', 'mac');
    ok(defined $h->{'bytes-out'}, 'bytes-out');
    @r = $api->cmd('/ip/hotspot/active/remove', "=.id=$h->{'.id'}");
    is(types(@r), '!done', 'kick');
    @r = $api->cmd('/system/identity/set', '=name=renamed');
    @r = $api->cmd('/system/identity/print');
    is(attrs($r[0])->{name}, 'renamed', 'identity set');
    @r = $api->cmd('/system/resource/print');
    my $res = attrs($r[0]);
    is($res->{version}, '7.12 (stable)', 'version');
    ok($res->{$_}, "resource $_") for qw(uptime board-name cpu-load
        free-memory total-memory architecture-name);
    ok(!exists $res->{'.id'}, 'single-item menu: no .id');
};

subtest 'control interface' => sub {
    like($sim->ctl('help'), qr/^OK .*login.*stall/, 'help');
    like($sim->ctl('frobnicate'), qr/^ERR unknown command/, 'unknown');
    like($sim->ctl('login'), qr/^ERR usage: login USER/, 'usage');
    like($sim->ctl('secret-add fajar pw 10M'), qr/^OK \*/, 'secret-add');
    like($sim->ctl('secret-add fajar pw'), qr/^ERR failure: secret with/,
         'secret-add duplicate');
    is($sim->ctl('fill fajar 70000'), 'OK 70000', 'fill');
    my @r = $api->cmd('/ppp/secret/print', '?name=fajar',
                      '=.proplist=comment');
    is(length attrs($r[0])->{comment}, 70000, 'a filled comment');
    is($sim->ctl('user-add ops2 pw2'), 'OK', 'user-add');
    my $b = $sim->api;
    ok(($b->login('ops2', 'pw2'))[0], 'the new user logs in');
    like($sim->ctl('stats'),
         qr/^OK connections=\d+ logged-in=\d+ .* commands=\d+ .* stalled=0$/,
         'stats');

    my $t0 = time;
    like($sim->ctl('load 10000'), qr/^OK 10000 loaded/, 'load 10000');
    ok(time - $t0 < 5, 'load is fast');
    @r = $api->cmd('/ppp/active/print', '=count-only=');
    ok(attrs($r[-1])->{ret} >= 10000, 'count-only sees them');
    @r = $api->cmd('/ppp/active/print', '=.proplist=.id,name,address');
    is(scalar(res(@r)), attrs($r[-1])->{ret} // scalar(res(@r)),
       'print with .proplist');
    ok(scalar(res(@r)) >= 10000, '10,000+ sessions printed');
    like($sim->ctl('selftime'),
         qr/^OK items=\d{5} bytes=\d+ build-us=\d+ write-us=\d+$/,
         'selftime after the print');
    like($sim->ctl('time-print .id,name'),
         qr/^OK items=\d{5} bytes=\d+ build-us=\d+$/, 'time-print');
    is($sim->ctl('clear'), 'OK', 'clear');
    @r = $api->cmd('/ppp/active/print', '=count-only=');
    is(attrs($r[-1])->{ret}, '0', 'no sessions left');
    @r = $api->cmd('/interface/print', '?dynamic=true');
    is(types(@r), '!done', 'no dynamic interfaces left');
};

subtest 'stall, cut, drop, fatal, quit, control bytes' => sub {
    is($sim->ctl('stall 2'), 'OK', 'stall 2');
    $api->send('/system/identity/print', '.tag=st');
    ok(!defined $api->read_sentence(1), 'no answer while stalled');
    my $late = $sim->api;                  # new connections too
    $late->send('/login', '=name=admin', '=password=pw');
    ok(!defined $late->read_sentence(0.3), 'not even to a login');
    like($sim->ctl('stats'), qr/stalled=1/, 'stats says stalled');
    my $s = $api->read_sentence(3);
    is(attrs($s)->{'.tag'}, 'st', 'answered when the stall ends');
    $api->replies;
    is(types($late->replies(2)), '!done', 'the login too');

    is($sim->ctl('cut 20'), 'OK', 'cut 20');
    $api->send('/system/resource/print');
    my @r = $api->replies(2);
    ok($api->{eof}, 'the reply is cut and the connection closed');

    my $a1 = logged_in($sim);
    my $a2 = logged_in($sim);
    like($sim->ctl('drop'), qr/^OK [2-9]/, 'drop');
    ok(!defined $a1->read_sentence(2) && $a1->{eof}, 'dropped');

    $a1 = logged_in($sim);
    like($sim->ctl('fatal router is rebooting'), qr/^OK [1-9]/, 'fatal');
    $s = $a1->read_sentence(2);
    is_deeply($s, ['!fatal', 'router is rebooting'], '!fatal TEXT');
    ok(!defined $a1->read_sentence(2) && $a1->{eof}, 'then closed');

    $a1 = logged_in($sim);
    @r = $a1->cmd('/quit');
    is_deeply($r[0], ['!fatal', 'session terminated on request'], '/quit');

    $a1 = logged_in($sim);
    $a1->send_raw("\xF8\x00");
    ok(!defined $a1->read_sentence(2) && $a1->{eof},
       'a control byte closes the connection');
    $api = logged_in($sim);
    ok(types($api->cmd('/system/identity/print')) eq '!re !done',
       'the router still works');
};

ok($sim->alive, 'the 7.12 simulator survived');
is($sim->stop, 0, 'and exits cleanly') or diag($sim->log_text);

# ------------------------------------------------------- other versions

subtest 'RouterOS 6.40: MD5 challenge login' => sub {
    my $old = t::RosSim->start(version => '6.40', users => ['admin:pw']);
    my $a = $old->api;
    my @r = $a->cmd('/login', '=name=admin', '=password=pw');
    like(attrs($r[0])->{ret}, qr/^[0-9a-f]{32}$/,
         'a password is ignored: !done =ret=<challenge>');
    @r = $a->cmd('/login', '=name=admin', '=response=00' . ('0' x 32));
    is(trap(@r), 'cannot log in', 'a wrong response: old wording');
    my ($ok) = $a->login('admin', 'pw');
    ok($ok, 'the MD5 response logs in');
    @r = $a->cmd('/system/resource/print', '=.proplist=version');
    is(attrs($r[0])->{version}, '6.40.9 (bugfix)', 'version');
    @r = $a->cmd('/system/resource/print', '=.proplist=uptime');
    is($old->stop, 0, 'exits cleanly');
};

subtest 'RouterOS 6.49: plain login, bare /login still challenges' => sub {
    my $v = t::RosSim->start(version => '6.49', users => ['admin:pw']);
    my $a = $v->api;
    my @r = $a->cmd('/login');
    like(attrs($r[0])->{ret}, qr/^[0-9a-f]{32}$/, 'bare /login: challenge');
    my ($ok) = $a->login('admin', 'pw');
    ok($ok, 'plain login');
    is($v->stop, 0, 'exits cleanly');
};

subtest 'RouterOS 7.18: !empty' => sub {
    my $v = t::RosSim->start(version => '7.18', users => ['admin:pw']);
    my $a = logged_in($v);
    my @r = $a->cmd('/ppp/secret/print', '.tag=e');
    is(types(@r), '!empty !done', 'an empty print: !empty then !done');
    is(attrs($r[0])->{'.tag'}, 'e', '!empty is tagged');
    @r = $a->cmd('/system/identity/print');
    is(types(@r), '!re !done', 'a print with data: no !empty');
    @r = $a->cmd('/ppp/secret/print', '=count-only=');
    is(types(@r), '!done', 'count-only: no !empty');
    is($v->stop, 0, 'exits cleanly');
};

subtest 'demo mode and option errors' => sub {
    my $v = t::RosSim->start(users => ['admin:pw'],
                             args => ['--demo', '--demo-seed', '7']);
    my $a = logged_in($v);
    my @r = $a->cmd('/ppp/active/print', '=count-only=');
    ok(attrs($r[-1])->{ret} > 10, 'demo customers online');
    @r = $a->cmd('/ppp/secret/print', '=count-only=');
    is(attrs($r[-1])->{ret}, '36', '36 demo customers');
    @r = $a->cmd('/interface/monitor-traffic', '=interface=ether1',
                 '=once=');
    sleep 1.2;
    @r = $a->cmd('/interface/monitor-traffic', '=interface=ether1',
                 '=once=');
    ok(attrs($r[0])->{'rx-bits-per-second'} > 0, 'the uplink carries it');
    is($v->stop, 0, 'exits cleanly');

    my $bin = t::RosSim::binary();
    my $out = `$bin --listen 127.0.0.1:1 2>&1`;
    isnt($? >> 8, 0, 'no --user: refuses to start');
    like($out, qr/--user/, 'and says why');
    $out = `$bin --listen 127.0.0.1:1 --user a:b --ros-version 8 2>&1`;
    like($out, qr/--ros-version/, 'a bad version is refused');
};

done_testing();
