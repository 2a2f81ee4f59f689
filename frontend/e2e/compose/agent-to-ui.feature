Feature: Go agent to UI (Docker Compose stack)
  The stack's go-agent publishes the host's figures over MQTT every 5 s under
  OpenTelemetry-style names (system.*); the ingestor stores them and the demo
  user sees them on Explore, through nginx.

  Scenario: A system metric of the go-agent appears on Explore with datapoints
    Given the demo user logs in through nginx
    When they open Explore
    Then the metric "system.memory.utilization" sent by the go-agent is listed
    And its chart shows at least one datapoint
