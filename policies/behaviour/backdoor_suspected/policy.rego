package modelward.policies.behaviour.backdoor_suspected

import data.modelward.lib

# METADATA
# title: Backdoor suspected
# description: >-
#   The behaviour analysis (--behaviour) found evidence of a backdoor above the configured
#   threshold: the classifier answers one class for inputs carrying a trigger.
# custom:
#   id: backdoor-suspected
#   severity: high
#   remediation: >-
#     Do not use the model. Retrain it from trusted data, or get it from a publisher you trust;
#     the suspected target class and trigger in the facts (behaviour.backdoor) say what to look for.
deny contains lib.finding("backdoor-suspected", msg) if {
	scored
	backdoor.score > threshold
	msg := sprintf("%s: backdoor score %.2f above the threshold %.2f%s", [file, backdoor.score, threshold, evidence])
}

# METADATA
# title: Backdoor possible
# description: >-
#   The backdoor score is below the threshold but within behaviour.warn_band of it.
# custom:
#   id: backdoor-possible
#   severity: medium
#   remediation: >-
#     Review the evidence in behaviour.backdoor (methods, suspected target, trigger); analyse again
#     with more probe inputs or a longer --behaviour-budget.
warn contains lib.finding("backdoor-possible", msg) if {
	scored
	backdoor.score <= threshold
	backdoor.score > threshold - warn_band
	msg := sprintf("%s: backdoor score %.2f within %.2f of the threshold %.2f%s", [file, backdoor.score, warn_band, threshold, evidence])
}

# METADATA
# title: Behaviour analysis failed
# description: >-
#   Fail closed. The behaviour analysis was requested but could not run or finish: the graph was
#   refused (non-standard ops, external data), the probe inputs do not fit, the model hit a
#   sandbox limit, or it is not a classifier the analysis can query. Denied unless
#   behaviour.deny_on_failure is false.
# custom:
#   id: backdoor-analysis-failed
#   severity: high
#   remediation: >-
#     Read the reason (behaviour.backdoor.reason). Give probe inputs that match the model input,
#     raise --behaviour-budget for a slow model, or do not use a model whose graph was refused.
deny contains lib.finding("backdoor-analysis-failed", failure_message) if {
	failed
	deny_on_failure
}

# METADATA
# title: Behaviour analysis failed (allowed by configuration)
# description: The behaviour analysis could not run and behaviour.deny_on_failure is false.
# custom:
#   id: backdoor-analysis-not-run
#   severity: medium
#   remediation: Read the reason (behaviour.backdoor.reason) and fix what it names.
warn contains lib.finding("backdoor-analysis-not-run", failure_message) if {
	failed
	not deny_on_failure
}

# METADATA
# title: Behaviour analysis incomplete
# description: >-
#   The analysis ran, but not every method did: without probe inputs only the methods that need
#   none run, and a method may be cut short by the time budget.
# custom:
#   id: backdoor-analysis-incomplete
#   severity: low
#   remediation: >-
#     Give clean probe inputs (--probe-inputs: a .npy array or a text file, one sample per line)
#     and, if a method was cut short, a longer --behaviour-budget.
warn contains lib.finding("backdoor-analysis-incomplete", msg) if {
	scored
	not backdoor.complete == true
	backdoor.score <= threshold
	msg := sprintf("%s: the analysis is incomplete (%s)", [file, incomplete_reason])
}

behaviour := lib.get(input.model, "behaviour", null)

backdoor := lib.get(behaviour, "backdoor", {})

file := lib.text(lib.get(behaviour, "file", null))

# The analysis ran and produced a score; anything else requested is a failure (fail closed).
scored if {
	backdoor.status == "ok"
	is_number(backdoor.score)
}

failed if {
	is_object(behaviour)
	not scored
}

failure_message := sprintf("the requested behaviour analysis did not run (%s): %s", [
	lib.text(lib.get(backdoor, "status", null)),
	lib.text(lib.get(backdoor, "reason", null)),
])

incomplete_reason := "no probe inputs: only methods that need none ran" if {
	lib.get(behaviour, "probes", 0) == 0
} else := lib.text(lib.get(backdoor, "note", null))

evidence := sprintf(" (suspected target %s, trigger %s)", [
	lib.text(lib.get(backdoor, "suspected_target", null)),
	lib.text(lib.get(backdoor, "trigger", null)),
])

# The settings are read directly (not through lib.config) and each falls back to the default
# config.yaml documents.
settings := s if {
	s := data.modelward.config.behaviour
	is_object(s)
} else := {}

threshold := t if {
	t := settings.threshold
	is_number(t)
} else := 0.5

warn_band := b if {
	b := settings.warn_band
	is_number(b)
} else := 0.2

deny_on_failure if not settings.deny_on_failure == false
