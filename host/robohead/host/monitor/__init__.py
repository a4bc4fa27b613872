"""`robohead monitor`: a live terminal dashboard of one robot head, fed only by MQTT.

Three parts with one job each, so the state and the picture are tested without a terminal:
`state` (a pure model fed by messages parsed with robohead.protocol.topics), `render` (rich
renderables from a state) and `client` (the paho-mqtt connection that feeds the state).
`cli` wires them to `rich.live.Live`.
"""
