# The RouterOS reply parser under libFuzzer for a few seconds, on a copy of
# the seed corpus (the fuzzer adds what it finds to the directory it is
# given; the repository's corpus stays as committed).  `make build` builds
# the fuzzer; this file only runs it.  A crash, a leak or a sanitizer
# report makes it exit non-zero.

use strict;
use warnings;

use File::Basename qw(dirname);
use File::Copy qw(copy);
use File::Spec;
use File::Temp qw(tempdir);
use Test::More;

my $build = $ENV{BUILD} || $ENV{MIKROBILL_BUILD}
    || ($ENV{MIKROBILL_WORKER} ? dirname($ENV{MIKROBILL_WORKER}) : undef)
    || 'build/release';
my $fuzzer = File::Spec->rel2abs("$build/fuzz/ros_reply_fuzzer");
my $seconds = $ENV{FUZZ_SECONDS} || 5;

# make build builds it: missing is a failure, never a quiet skip
BAIL_OUT("$fuzzer is not built (make build needs clang and "
    . 'libclang-rt-14-dev)') unless -x $fuzzer;

my $seeds = 't/fuzz/corpus';
my $tmp = tempdir('ros-fuzz-XXXXXX', TMPDIR => 1, CLEANUP => 1);
mkdir "$tmp/corpus" or die "mkdir: $!";
my $n = 0;
opendir(my $dh, $seeds) or die "$seeds: $!";
for my $f (grep { -f "$seeds/$_" } readdir $dh) {
    copy("$seeds/$f", "$tmp/corpus/$f") or die "copy $f: $!";
    $n++;
}
closedir $dh;
ok($n >= 5, "seed corpus has $n files");

# libFuzzer writes crash-* files to the current directory: keep them in tmp
my $log = "$tmp/fuzz.log";
my $pid = fork() // die "fork: $!";
if ($pid == 0) {
    chdir $tmp or die "chdir: $!";
    open(STDOUT, '>', $log) or die;
    open(STDERR, '>&', \*STDOUT) or die;
    exec($fuzzer, "-max_total_time=$seconds", "-timeout=10",
         "-rss_limit_mb=4096", "$tmp/corpus") or exit 127;
}
waitpid($pid, 0);
my $rc = $? >> 8;

open(my $fh, '<', $log);
my @out = $fh ? <$fh> : ();
my ($runs) = map { /Done (\d+) runs/ ? $1 : () } @out;
is($rc, 0, "fuzzer exited 0 after ${seconds}s")
    or diag(join '', @out > 40 ? @out[-40 .. -1] : @out);
ok($runs && $runs > 100, 'fuzzer ran (' . ($runs // 0) . ' inputs)');

done_testing();
