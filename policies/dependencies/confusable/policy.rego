package modelward.policies.dependencies.confusable

import data.modelward.lib

# METADATA
# title: Confusable dependency name
# description: >-
#   A dependency manifest names a package that imitates a well-known ML package (a typo, a
#   swapped or doubled letter, a look-alike character, an added -python or py- ...): the
#   typosquatting way to get malicious code installed beside a model.
# custom:
#   id: dependency-confusable
#   severity: critical
#   remediation: >-
#     Use the package the name imitates. If the package is genuine (your own, say), add its name
#     to dependency_allowlist after review.
deny contains lib.finding("dependency-confusable", msg) if {
	some c in lib.get(input.model.dependencies, "confusables", [])
	not normalize(c.name) in allowlist
	msg := sprintf("%s: package %s imitates %s", [location(c), c.name, c.resembles])
}

# Names listed in dependency_allowlist, in PEP 503 normal form. Read directly rather than
# through lib.config (see lib.allowed_imports).
allowlist := {normalize(n) | some n in configured; is_string(n)}

configured := names if {
	names := data.modelward.config.dependency_allowlist
	is_array(names)
} else := []

normalize(name) := regex.replace(lower(name), `[-_.]+`, "-")

location(c) := sprintf("%s:%d", [c.manifest, c.line]) if is_number(c.line)

else := c.manifest
