Feature: Alert → webhook
  An admin makes a webhook channel in the dashboard and a rule that notifies it;
  a breach sends one signed "firing" notification, its recovery one "resolved", nothing more.

  Scenario: A breach and its recovery send one signed firing and one signed resolved webhook
    Given a tenant with a token and a user
    And a webhook receiver on 127.0.0.1
    When the user logs in and creates the webhook channel "E2E hook" to the receiver with group wait "0s", noting the signing secret shown once
    And the user creates the alert rule "E2E webhook hot" notifying "E2E hook": avg above 50 over "10s", cadence "1s", for "0s", no data "OK"
    And samples of 100 are posted to the metric through the REST API every 500 ms
    Then the receiver gets exactly one "firing" notification for "E2E webhook hot" within 15 seconds, validly signed
    When samples of 10 are posted to the metric through the REST API every 500 ms instead
    Then the receiver gets exactly one "resolved" notification for "E2E webhook hot" within 15 seconds, validly signed
    And no other notification for "E2E webhook hot" arrives within 2 seconds
