Feature: Ingest to chart
  Samples posted to the REST API appear on the dashboard's chart.

  Scenario: Posted metrics are drawn
    Given a tenant with a token and a user
    When 10 metrics are posted
    Then the chart shows 10 datapoints

  Scenario: A dashboard widget charts the posted metric, and a reload keeps the selection
    Given a tenant with a token and a user
    When 10 metrics are posted
    And the user logs in and creates a dashboard with a widget of the metric
    Then the widget's chart shows 10 datapoints
    When the user picks the metric and the 6h range on Explore and reloads the page
    Then Explore still shows the metric over 6h with 10 datapoints

  Scenario: A seeded burst from the generator is drawn
    Given a tenant with a token and a user
    When a seeded burst of 60 samples is generated
    Then the chart shows 60 datapoints
