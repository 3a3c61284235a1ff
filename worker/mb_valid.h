/*
 * Checks of values that end up on a router or in the routers table, done
 * before anything is sent: a bad value gets a clear error from us instead
 * of a RouterOS trap, and no value can smuggle an API word (a '\0', a
 * control byte) into a sentence.  Each returns 1 when the value is good.
 */

#ifndef _MB_VALID_H_INCLUDED_
#define _MB_VALID_H_INCLUDED_


/* printable text of 1..max bytes: no control bytes (UTF-8 allowed) */
int mb_valid_text(const char *s, unsigned max);
/* like mb_valid_text, but may be empty */
int mb_valid_text0(const char *s, unsigned max);

/* a DNS name, an IPv4 address or an IPv6 address (no brackets) */
int mb_valid_host(const char *s);

/* a RouterOS item id: "*" and 1-8 hex digits */
int mb_valid_ros_id(const char *s);

/* an IPv4/IPv6 address, optionally "/prefix", or a range a.b.c.d-e.f.g.h
 * (what /ip/firewall/address-list takes besides DNS names) */
int mb_valid_address(const char *s);

/* RouterOS time: "30s", "1d2h3m", "00:05:00", "1w" */
int mb_valid_duration(const char *s);

/* a name RouterOS accepts for a secret, profile, list or interface:
 * 1..max bytes, printable, no blanks at the ends */
int mb_valid_name(const char *s, unsigned max);

/* "<uuid>" in its canonical 8-4-4-4-12 lowercase or uppercase hex */
int mb_valid_uuid(const char *s);


#endif /* _MB_VALID_H_INCLUDED_ */
