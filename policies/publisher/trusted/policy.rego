package modelward.policies.publisher.trusted

import data.modelward.lib

# METADATA
# title: Publisher not trusted
# description: >-
#   trusted_publishers lists the publishers whose models may be used; a model from any other
#   publisher is denied. An empty list allows every publisher. Local models with no publisher
#   facts are not judged.
# custom:
#   id: publisher-untrusted
#   severity: high
#   remediation: >-
#     Use a model from a trusted publisher, or add this publisher to trusted_publishers after
#     review.
deny contains lib.finding("publisher-untrusted", msg) if {
	trusted := lib.config("trusted_publishers", [])
	count(trusted) > 0
	published
	not lib.name_in(publisher_name, trusted)
	msg := sprintf("publisher %s of %s is not one of the trusted publishers", [publisher_name, input.model.subject.ref])
}

# METADATA
# title: Look-alike publisher name
# description: >-
#   The publisher's name imitates a well-known publisher (e.g. a swapped or doubled letter), a
#   common way to get a malicious model used in place of the real one.
# custom:
#   id: publisher-lookalike
#   severity: critical
#   remediation: >-
#     Check the reference: use the model from the publisher this name imitates. If the publisher
#     is genuine, add it to trusted_publishers.
deny contains lib.finding("publisher-lookalike", msg) if {
	original := input.model.publisher.lookalike_of
	is_string(original)
	not lib.name_in(publisher_name, lib.config("trusted_publishers", []))
	msg := sprintf("publisher %s imitates %s", [publisher_name, original])
}

# The model has a publisher: hub (or other non-local) publisher facts, or an hf:// reference.
published if {
	source := input.model.publisher.source
	source != "local"
}

published if input.model.subject.scheme == "hf"

publisher_name := name if {
	name := lib.publisher
} else := "unknown"
