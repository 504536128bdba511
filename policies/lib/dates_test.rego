package modelward.lib_dates_test

import data.modelward.lib

test_day_end_is_the_next_midnight_utc if {
	lib.day_end_ns("2025-12-31") == time.parse_rfc3339_ns("2026-01-01T00:00:00Z")
}

test_leap_years if {
	lib.day_end_ns("2028-02-29")
	lib.day_end_ns("2000-02-29")
	not lib.day_end_ns("2100-02-29")
	not lib.day_end_ns("2027-02-29")
}

test_invalid_dates_are_undefined if {
	every bad in ["2026-13-01", "2026-00-10", "2026-04-31", "2026-01-00", "26-01-01", "2026-1-1", "2026-01-01T00:00:00Z", 20260101, null] {
		not lib.day_end_ns(bad)
	}
}
