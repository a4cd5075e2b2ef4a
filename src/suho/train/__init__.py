"""Multi-task LoRA trainer: detection (label + category tokens) on every example, the reply on unsafe ones."""
