"""The only package that imports SpiffWorkflow (and, with the linter, parses BPMN with lxml).

Everything it hands back to the rest of the engine is spiff-free: element ids, names, states, data.
"""
