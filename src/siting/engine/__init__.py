"""The run: the pipeline of steps, the HiGHS hand-off, and the steps that speed it up."""
