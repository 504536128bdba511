# The entry point both engines query: every deny and warn of every policy package.
package modelward.main

deny contains f if some f in data.modelward.policies[_][_].deny

warn contains f if some f in data.modelward.policies[_][_].warn
