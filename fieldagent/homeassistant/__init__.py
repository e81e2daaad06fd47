"""Home Assistant MQTT discovery (`[mqtt] homeassistant_discovery`, off by default)."""
