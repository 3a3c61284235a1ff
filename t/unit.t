# C unit tests: each t/unit/NAME_test.c is built by `make` into
# $BUILD/unit/NAME_test and prints TAP; run each one as a subtest here so
# that a single `prove -r t/` covers everything.
use strict;
use warnings;
use Test::More;
use TAP::Parser;

my $build = $ENV{MIKROBILL_BUILD}
    || ($ENV{MIKROBILL_SAN} ? 't/../build/san' : 't/../build/release');
my @sources = sort glob 't/unit/*_test.c';
plan skip_all => 'no C unit tests in t/unit/' unless @sources;

for my $src (@sources) {
    my ($name) = $src =~ m{([^/]+)\.c$};
    my $bin = "$build/unit/$name";
    subtest $name => sub {
        ok(-x $bin, "$bin is built (make build)") or return;
        my $parser = TAP::Parser->new({ exec => [$bin], merge => 1 });
        my $tests = 0;
        while (my $r = $parser->next) {
            if ($r->is_test) {
                $tests++;
                ok($r->is_ok, $r->description || "test " . $r->number);
            } elsif ($r->is_comment || $r->is_unknown) {
                note($r->as_string);
            }
        }
        ok($tests > 0, "$name ran tests");
        ok($parser->is_good_plan, "$name: the plan matches");
        is($parser->exit, 0, "$name exited 0 (no crash, no sanitizer report)");
    };
}

done_testing();
