from .relational_reasoner import RelationalReasoner

__all__ = ['RelationalReasoner']
