package modelward.policies.dependencies.index_url

import data.modelward.lib

# METADATA
# title: Extra package index
# description: >-
#   A dependency manifest adds a package index beside PyPI (--extra-index-url, a secondary
#   Poetry/uv/Pipfile source). pip takes the highest version of a name from any index, so anyone
#   who registers the same name on the other index chooses the code that gets installed
#   (dependency confusion). Indexes listed in allowed_package_indexes are accepted.
# custom:
#   id: dependency-extra-index-url
#   severity: high
#   remediation: >-
#     Install from one index (an internal mirror or PyPI) with --index-url, or add this index to
#     allowed_package_indexes after review.
deny contains lib.finding("dependency-extra-index-url", msg) if {
	some i in indexes
	i.kind == "extra-index-url"
	not accepted(i.url)
	msg := sprintf("%s: adds the package index %s beside the main one", [location(i), i.url])
}

# METADATA
# title: Package index other than PyPI
# description: >-
#   A dependency manifest replaces the package index (--index-url) or adds a place to find
#   packages (--find-links) that is not PyPI and not in allowed_package_indexes.
# custom:
#   id: dependency-index-url
#   severity: medium
#   remediation: >-
#     Check that the index is one you trust and add it to allowed_package_indexes, or install
#     from PyPI.
warn contains lib.finding("dependency-index-url", msg) if {
	some i in indexes
	i.kind in {"index-url", "find-links"}
	not accepted(i.url)
	msg := sprintf("%s: installs packages from %s (%s)", [location(i), i.url, i.kind])
}

# METADATA
# title: TLS verification turned off for a package host
# description: >-
#   A requirements file passes --trusted-host: pip then accepts plain HTTP or any certificate
#   from that host, so anyone on the network path can substitute packages.
# custom:
#   id: dependency-trusted-host
#   severity: medium
#   remediation: Remove --trusted-host and serve the index over HTTPS with a valid certificate.
warn contains lib.finding("dependency-trusted-host", msg) if {
	some i in indexes
	i.kind == "trusted-host"
	msg := sprintf("%s: turns off TLS verification for %s (trusted-host)", [location(i), i.url])
}

indexes := lib.get(input.model.dependencies, "indexes", [])

#: PyPI itself, always accepted.
pypi := ["https://pypi.org/simple", "https://pypi.python.org/simple", "https://files.pythonhosted.org"]

# Read directly rather than through lib.config (see lib.allowed_imports).
configured := urls if {
	urls := data.modelward.config.allowed_package_indexes
	is_array(urls)
} else := []

# A URL is accepted when it is an accepted index or below one (compared without case and
# trailing slashes).
accepted(url) if {
	some base in array.concat(pypi, configured)
	is_string(base)
	prefix := trim_right(lower(base), "/")
	prefix != ""
	within(trim_right(lower(url), "/"), prefix)
}

within(url, prefix) if url == prefix

within(url, prefix) if startswith(url, concat("", [prefix, "/"]))

location(i) := sprintf("%s:%d", [i.manifest, i.line]) if is_number(i.line)

else := i.manifest
