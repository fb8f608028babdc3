"""refold: a git-native manifest store with transactional merge."""

__version__ = "0.1.0"
