# mb_uptime (sql/006, rewritten in sql/009): the live uptime of a session,
# RouterOS style, from when it started.  Every boundary of every unit.
use lib '.';
use t::MikroBill;

my @cases = (
    [ '0 seconds',                        '0s' ],
    [ '-1 hour',                          '0s' ],     # a clock ahead
    [ '1 second',                         '1s' ],
    [ '59 seconds',                       '59s' ],
    [ '60 seconds',                       '1m' ],
    [ '61 seconds',                       '1m1s' ],
    [ '59 minutes 59 seconds',            '59m59s' ],
    [ '1 hour',                           '1h' ],
    [ '1 hour 2 minutes 3 seconds',       '1h2m3s' ],
    [ '23 hours 59 minutes 59 seconds',   '23h59m59s' ],
    [ '1 day',                            '1d' ],
    [ '1 day 5 seconds',                  '1d5s' ],
    [ '6 days 23 hours',                  '6d23h' ],
    [ '7 days',                           '1w' ],
    [ '9 days 3 hours 5 seconds',         '1w2d3h5s' ],
    [ '700 days 1 minute',                '100w1m' ],
    [ '1.9 seconds',                      '1s' ],      # whole seconds, down
);

for my $c (@cases) {
    my ($ago, $want) = @$c;
    # one statement: now() is the same for the start and the function
    my $got = mb_psql("SELECT mb_uptime(now() - ?::interval)", $ago);
    is($got, $want, "started $ago ago: $want");
}

is(scalar mb_psql("SELECT mb_uptime(NULL)"), '0s',
   'no start: 0s, as the SQL version answered');

done_testing();
