Feature: Live chart
  With Live on, Explore's chart follows the samples the live stream pushes: no reload, no new query.

  Scenario: Explore in live mode: samples posted through the API appear on the chart without a reload
    Given a tenant with a token and a user
    When 10 metrics are posted
    And the user logs in and opens Explore on the metric, counting the page's requests
    And the user switches Live on
    Then the live badge shows "Live"
    When 10 samples are posted through the REST API one after another, timestamped now but the last without ts
    Then each of them appears in the chart's data table within 5 seconds
    And the page was not reloaded and made no new query request
    And the live browser latency is printed
