"""The Gradio tabs of Diffusion Classroom: layout and wiring only (the work is in diffusion_core)."""
