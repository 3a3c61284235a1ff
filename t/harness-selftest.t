# A harness that cannot fail proves nothing: run t/fixtures/harness-fail.t.in
# through our runner and check that each of its blocks fails as intended.
use strict;
use warnings;
use lib '.';
use Test::More;
use TAP::Parser;
use File::Temp qw(tempdir);

my $dir = tempdir('harness-selftest.XXXX',
                  DIR => $ENV{MIKROBILL_TEST_DIR} || 't', CLEANUP => 1);
local $ENV{TEST_NGINX_SERVROOT} = "$dir/servroot";
local $ENV{MIKROBILL_OWN_HARNESS} = 1;

my $parser = TAP::Parser->new({
    exec => [$^X, '-I.', 't/fixtures/harness-fail.t.in'],
    merge => 1,
});
my (%failed, %passed, @output);
while (my $r = $parser->next) {
    push @output, $r->as_string;
    next unless $r->is_test;
    if ($r->description =~ /helper nginx log is clean/) {
        $failed{helper}++ unless $r->is_ok;
        next;
    }
    my ($block) = $r->description =~ /TEST (\d+):/ or next;
    if ($r->is_ok) { $passed{$block}++ } else { $failed{$block}++ }
}

my %expect = (
    1 => 'wrong status',
    2 => 'wrong body',
    3 => 'wrong and unexpected header',
    4 => 'error_log / no_error_log',
    5 => 'nginx start failure',
    6 => 'second element of an array',
    7 => 'timeout',
);
for my $n (sort keys %expect) {
    ok($failed{$n}, "fixture block $n fails: $expect{$n}");
}
ok($failed{helper}, 'a worker killed by SIGSEGV fails the helper nginx check');
is($failed{3}, 2, 'both header checks of block 3 fail');
is($failed{4}, 2, 'both log checks of block 4 fail');
is($failed{6}, 1, 'block 6: only the second status fails');
is($passed{6}, 1, 'block 6: the first status passes');
isnt($parser->exit, 0, 'the fixture exits non-zero');
diag(join "\n", @output) unless Test::More->builder->is_passing;

# and what our runner adds must work (own runner only)
my $own = TAP::Parser->new({
    exec => [$^X, '-I.', 't/fixtures/harness-own.t.in'],
    merge => 1,
});
my ($own_ok, $own_tests, @own_out) = (1, 0);
while (my $r = $own->next) {
    push @own_out, $r->as_string;
    next unless $r->is_test;
    $own_tests++;
    $own_ok &&= $r->is_ok;
}
ok($own_ok && $own_tests == 4 && $own->exit == 0,
   '$TEST_NGINX_ variables expand in more_headers and request')
    or diag(join "\n", @own_out);

done_testing();
