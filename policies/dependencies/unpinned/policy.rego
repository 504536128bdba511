package modelward.policies.dependencies.unpinned

import data.modelward.lib

# METADATA
# title: Unpinned dependency
# description: >-
#   A dependency manifest the model ships allows more than one version of a package (a range,
#   no version, a VCS branch): what gets installed changes over time. A warning unless
#   require_pinned_dependencies is true.
# custom:
#   id: dependency-unpinned
#   severity: medium
#   remediation: >-
#     Pin every package to one version (name==1.2.3), or a VCS URL to a full commit hash.
warn contains lib.finding("dependency-unpinned", msg) if {
	not pins_required
	some manifest, names in unpinned
	msg := unpinned_message(manifest, names)
}

# METADATA
# title: Unpinned dependency (pins required)
# description: >-
#   require_pinned_dependencies is true and a dependency manifest of the model allows more than
#   one version of a package.
# custom:
#   id: dependency-unpinned-denied
#   severity: high
#   remediation: >-
#     Pin every package to one version (name==1.2.3), or a VCS URL to a full commit hash.
deny contains lib.finding("dependency-unpinned-denied", msg) if {
	pins_required
	some manifest, names in unpinned
	msg := unpinned_message(manifest, names)
}

# METADATA
# title: Dependency without hashes
# description: >-
#   A requirements file installs packages without --hash options: pip cannot check that it
#   downloads the files the author tested. A warning unless require_hashed_dependencies is true.
# custom:
#   id: dependency-unhashed
#   severity: low
#   remediation: >-
#     Generate the requirements with hashes (pip-compile --generate-hashes, uv pip compile
#     --generate-hashes) so pip runs in hash-checking mode.
warn contains lib.finding("dependency-unhashed", msg) if {
	not hashes_required
	some manifest, names in unhashed
	msg := unhashed_message(manifest, names)
}

# METADATA
# title: Dependency without hashes (hashes required)
# description: require_hashed_dependencies is true and a requirements file has packages without --hash.
# custom:
#   id: dependency-unhashed-denied
#   severity: high
#   remediation: >-
#     Generate the requirements with hashes (pip-compile --generate-hashes, uv pip compile
#     --generate-hashes) so pip runs in hash-checking mode.
deny contains lib.finding("dependency-unhashed-denied", msg) if {
	hashes_required
	some manifest, names in unhashed
	msg := unhashed_message(manifest, names)
}

# METADATA
# title: Direct dependency reference
# description: >-
#   A package is installed from a URL, a VCS repository or a local path instead of an index:
#   no index metadata, and often no version at all.
# custom:
#   id: dependency-direct-reference
#   severity: medium
#   remediation: >-
#     Install the package from a package index at a pinned version, or pin the VCS URL to a full
#     commit hash and review the repository.
warn contains lib.finding("dependency-direct-reference", msg) if {
	some p in packages
	is_string(p.url)
	msg := sprintf("%s installs %s from %s", [where(p), p.name, p.url])
}

# METADATA
# title: Dependency manifest not fully read
# description: >-
#   A dependency manifest (or a line, or an include) could not be read, or a size limit was hit:
#   what it asks an installer to do is unknown.
# custom:
#   id: dependency-manifest-incomplete
#   severity: medium
#   remediation: Check the manifest named in the message; fix or remove what could not be read.
warn contains lib.finding("dependency-manifest-incomplete", msg) if {
	some f in lib.get(input.model.dependencies, "findings", [])
	f.severity != "info"
	msg := sprintf("%s: %s", [location(f.file, f.line), f.message])
}

pins_required if lib.config("require_pinned_dependencies", false) == true

hashes_required if lib.config("require_hashed_dependencies", false) == true

packages := lib.get(input.model.dependencies, "packages", [])

# manifest -> names of its packages that allow more than one version.
unpinned[manifest] := names if {
	some p in packages
	manifest := p.manifest
	names := [label(q) | some q in packages; q.manifest == manifest; not q.pinned == true]
	count(names) > 0
}

# requirements manifest -> names of its index packages installed without --hash.
unhashed[manifest] := names if {
	some m in lib.get(input.model.dependencies, "manifests", [])
	m.kind == "requirements"
	manifest := m.path
	names := [q.name | some q in packages; q.manifest == manifest; not q.hashed == true]
	count(names) > 0
}

unpinned_message(manifest, names) := sprintf("%s: %d package(s) not pinned to one version: %s", [manifest, count(names), lib.listing(names)])

unhashed_message(manifest, names) := sprintf("%s: %d package(s) without --hash: %s", [manifest, count(names), lib.listing(names)])

label(p) := p.name if p.specifier == ""

else := concat("", [p.name, p.specifier])

where(p) := location(p.manifest, p.line)

location(file, line) := sprintf("%s:%d", [file, line]) if is_number(line)

else := lib.text(file)
