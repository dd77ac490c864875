"""Does nothing: run under ``benchmarks._measure``, it measures the interpreter's own start-up."""
