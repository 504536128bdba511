# Reading data.modelward.config, and facts several policies interpret the same way.
package modelward.lib

# config returns the configured value of key, or fallback when the key is absent or null.
# Policies pass the same default that config.yaml documents, so a bundle whose config omits a
# key behaves like the built-in one.
config(key, fallback) := value if {
	value := data.modelward.config[key]
	value != null
} else := fallback

# get is object.get that tolerates a null or non-object: a fact section may be null.
get(obj, key, fallback) := value if {
	is_object(obj)
	value := obj[key]
	value != null
} else := fallback

# A remote reference (hf://, oci://, s3://, ...); local paths and file:// are content on disk.
remote_subject if {
	scheme := input.model.subject.scheme
	not scheme in {"local", "file"}
}

# The publisher a model comes from: the hub author, or the organisation of an hf:// reference.
publisher := author if {
	author := input.model.publisher.author
	is_string(author)
	author != ""
} else := org if {
	input.model.subject.scheme == "hf"
	[org, _] := split(input.model.subject.location, "/")
}

# Case-insensitive membership of a name in a configured list of names.
name_in(name, names) if {
	some n in names
	lower(n) == lower(name)
}

# Licences the model card and the BOM state, normalised (trimmed, lower case).
card_licenses contains norm_license(l) if {
	l := input.model.card.license
	is_string(l)
	norm_license(l) != ""
}

bom_licenses contains norm_license(l) if {
	some l in input.model.bom.licenses
	is_string(l)
	norm_license(l) != ""
}

norm_license(l) := lower(trim_space(l))

# Base models the model card and the BOM name.
card_base_models contains m if some m in input.model.card.base_model

bom_base_models contains m if some m in input.model.bom.base_models

# text shows an optional fact in a message: the string itself, or "none".
text(value) := value if {
	is_string(value)
	value != ""
} else := "none"

# listing shows a list of names in a message: sorted, at most ten, "none listed" when empty.
listing(items) := "none listed" if {
	count(items) == 0
} else := concat(", ", sort(items)) if {
	count(items) <= 10
} else := sprintf("%s and %d more", [concat(", ", array.slice(sort(items), 0, 10)), count(items) - 10])
