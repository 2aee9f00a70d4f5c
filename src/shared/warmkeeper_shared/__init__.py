"""The contract between the two functions: the custom events and the controller's recorded state.

Shipped as a Lambda layer so both functions import the same module.
"""
