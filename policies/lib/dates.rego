package modelward.lib

# day_end_ns is the first nanosecond after the UTC day date ("YYYY-MM-DD"), so a date stays
# valid until the end of that day. Undefined for anything that is not a real calendar date
# between 2000 and 2199 (the date is checked before parsing, so a bad date never errors).
day_end_ns(date) := ns if {
	is_string(date)
	regex.match(`^2[01][0-9]{2}-[0-9]{2}-[0-9]{2}$`, date)
	[y, m, d] := [_int(p) | some p in split(date, "-")]
	m >= 1
	m <= 12
	d >= 1
	d <= _month_days(y, m)
	ns := time.parse_rfc3339_ns(sprintf("%sT00:00:00Z", [date])) + ((24 * 3600) * 1000000000)
}

# to_number of a zero-padded number ("08") without relying on leading zeros being accepted.
_int(digits) := to_number(trimmed) if {
	trimmed := trim_left(digits, "0")
	trimmed != ""
} else := 0

_month_days(y, m) := 29 if {
	m == 2
	_leap(y)
} else := 28 if {
	m == 2
} else := 30 if {
	m in {4, 6, 9, 11}
} else := 31

_leap(y) if {
	y % 4 == 0
	y % 100 != 0
}

_leap(y) if y % 400 == 0
