"""What runs in the candidate's process, next to code nobody has read: loading ModelNew,
running its forward on the inputs it is given, writing what it returns (`process`), compiling
its launches for the target GPU (`compile_stage`), and the instruments around forward
(`launches`, `recorder`, `poison`, `integrity`, `sanitize`, `cuda_on_cpu`, `interpreter_fixes`).

Nothing here decides anything: whatever this process reports is data for fuselint's own
process to check, and the candidate can change any of it."""
