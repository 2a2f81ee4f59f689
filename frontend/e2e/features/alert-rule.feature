Feature: Alert rule
  An admin writes an alert rule in the dashboard; samples that breach it make it fire.

  Scenario: A rule created in the UI fires when breaching samples arrive
    Given a tenant with a token and a user
    When the user logs in and creates the alert rule "E2E hot" on the metric: above 50, cadence "1s", for "0s", window "10s"
    Then the rule page shows the rule "E2E hot"
    When samples above 50 are posted to the metric through the REST API
    Then the rule page shows "Firing" within 30 seconds
    And the navigation shows 1 firing alert
