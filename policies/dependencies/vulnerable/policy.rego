package modelward.policies.dependencies.vulnerable

import data.modelward.lib

# METADATA
# title: Vulnerable dependency
# description: >-
#   A dependency manifest pins a package version that an advisory of the offline vulnerability
#   database (--vuln-db, OSV format) lists as affected. Only exact pins are judged, and only
#   when a database was given (dependencies.vulnerabilities_checked).
# custom:
#   id: dependency-vulnerable
#   severity: high
#   remediation: >-
#     Pin a version the advisory lists as fixed, or exempt the advisory's rule for this model
#     (exemptions) with an owner, a reason and an expiry date.
deny contains lib.finding("dependency-vulnerable", msg) if {
	some v in lib.get(input.model.dependencies, "vulnerabilities", [])
	msg := sprintf("%s: %s %s is affected by %s%s%s", [
		location(v), v.package, v.version, v.id, aliases(v), summary(v),
	])
}

aliases(v) := sprintf(" (%s)", [concat(", ", v.aliases)]) if count(v.aliases) > 0

else := ""

summary(v) := concat("", [": ", v.summary]) if {
	is_string(v.summary)
	v.summary != ""
} else := ""

location(v) := sprintf("%s:%d", [v.manifest, v.line]) if is_number(v.line)

else := v.manifest
