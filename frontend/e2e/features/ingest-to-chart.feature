Feature: Ingest to chart
  Samples posted to the REST API appear on the dashboard's chart.

  Scenario: Posted metrics are drawn
    Given a tenant with a token and a user
    When 10 metrics are posted
    Then the chart shows 10 datapoints
