"""`make sim` / `robohead sim`: the whole loop on one machine with no hardware.

Mosquitto on a free loopback port, `robohead-fw-sim` replaying a scripted synthetic session
(expressions and speech) on a pseudo-terminal, `robohead-edge run` with the champion bundle, and
the live monitor in the foreground. Every child runs in its own process group and is stopped with
SIGTERM then SIGKILL after a bounded wait, so Ctrl-C leaves nothing behind.

Modules: `settings` (params.yaml `sim:`), `procs` (process groups), `broker` (Mosquitto),
`scenario` (the scripted session and its looped speech), `loop` (starting and stopping it all),
`latency` (loop latency from the simulator's PWM log, the delay a person feels), `cli`.
"""
