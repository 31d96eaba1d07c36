package dev.lockstep.helm;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;

import dev.lockstep.TestClients;
import dev.lockstep.block.nbd.NbdServer;
import dev.lockstep.block.nbd.Tools;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Grafana dashboard of the Helm chart against the service itself: the service runs
 * with its disk engine, does real work (NBD reads and writes with qemu-io, a start, a
 * checkpoint and a stop through the API), and every metric that a query of the dashboard
 * names must then appear in {@code /actuator/prometheus}.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class GrafanaDashboardMetricsTests {

	private static final Path DASHBOARD = Path.of("helm", "lockstep", "dashboards", "lockstep.json");

	/**
	 * Series that Prometheus itself adds to every scrape target, never in the scrape.
	 */
	private static final Set<String> SCRAPE_SERIES = Set.of("up");

	/** PromQL words that look like metric names but are not. */
	private static final Set<String> KEYWORDS = Set.of("by", "without", "on", "ignoring", "group_left", "group_right",
			"and", "or", "unless", "bool", "offset", "inf", "nan");

	private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

	@LocalServerPort
	int port;

	@Autowired
	NbdServer nbd;

	@AfterEach
	void stop() throws Exception {
		post("/api/v1/replication/stop", "{\"failover\":false}");
	}

	@Test
	void everyPanelHasATitleAndAQuery() throws IOException {
		List<Map<String, Object>> panels = panels();
		assertThat(panels).hasSizeGreaterThanOrEqualTo(10);
		for (Map<String, Object> panel : panels) {
			assertThat(panel.get("title")).as("title of %s", panel).asString().isNotBlank();
			List<Map<String, Object>> targets = RenderedChart.at(panel, "targets");
			assertThat(targets).as(String.valueOf(panel.get("title"))).isNotEmpty();
			assertThat(targets).allSatisfy((target) -> assertThat(target.get("expr")).asString().isNotBlank());
		}
		assertThat(panels).extracting((panel) -> (String) panel.get("title"))
			.contains("Health of the pods", "Lifecycle state per pod", "Operations by outcome", "Checkpoint latency",
					"Participant calls timed out", "Dirty bytes per disk", "Synchronisation progress per disk",
					"Forwarded write latency", "NBD throughput per disk", "NBD IOPS per disk");
	}

	@Test
	void everyMetricTheDashboardQueriesIsInTheScrape() throws Exception {
		String uri = "nbd://127.0.0.1:" + this.nbd.port() + "/disk0";
		Tools.ok(30, "qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 64k", uri);
		Tools.ok(30, "qemu-io", "-r", "-f", "raw", "-c", "read -P 0x5a 0 64k", uri);
		assertThat(post("/api/v1/replication/start", "{\"mode\":\"secondary\"}").statusCode()).isEqualTo(200);
		assertThat(post("/api/v1/replication/checkpoint", null).statusCode()).isEqualTo(200);
		// Gauges whose object nobody else holds lose it at a garbage collection.
		System.gc();
		HttpResponse<String> scrape = http.send(request("/actuator/prometheus").GET().build(),
				HttpResponse.BodyHandlers.ofString());
		assertThat(scrape.statusCode()).isEqualTo(200);
		Set<String> scraped = scrapedNames(scrape.body());

		Set<String> queried = new TreeSet<>();
		for (Map<String, Object> panel : panels()) {
			List<Map<String, Object>> targets = RenderedChart.at(panel, "targets");
			for (Map<String, Object> target : targets) {
				queried.addAll(metricNames((String) target.get("expr")));
			}
		}
		assertThat(queried).contains("up", "lockstep_state", "lockstep_health", "lockstep_operations_seconds_bucket",
				"lockstep_participant_calls_seconds_count", "lockstep_replication_dirty_bytes",
				"lockstep_replication_sync_total_bytes", "lockstep_replication_forwarded_writes_seconds_bucket",
				"lockstep_disk_read_bytes_total", "lockstep_disk_operations_total");
		queried.removeAll(SCRAPE_SERIES);
		assertThat(scraped).containsAll(queried);
		// The gauges carry the values the panels show.
		assertThat(scrape.body()).contains("lockstep_health{group=\"readiness\"} 1")
			.contains("lockstep_state{state=\"RUNNING\"} 1")
			.contains("lockstep_disk_written_bytes_total{disk=\"disk0\"} 65536")
			.contains(
					"lockstep_operations_seconds_bucket{operation=\"checkpoint\",outcome=\"succeeded\",le=\"+Inf\"} 1");
	}

	@Test
	void metricNamesAreFoundInPromQl() {
		assertThat(metricNames("histogram_quantile(0.99, sum by (pod, le) (rate(a_seconds_bucket{namespace=~\"$ns\", "
				+ "operation=\"checkpoint\"}[$__rate_interval])))"))
			.containsExactly("a_seconds_bucket");
		assertThat(metricNames("max by (pod) (b{state=\"RUNNING\"}) + 2 * max without (x) (c) / on (pod) "
				+ "group_left (disk) d offset 5m > 0 unless up"))
			.containsExactlyInAnyOrder("b", "c", "d", "up");
		assertThat(metricNames("sum(rate(e_total[1m])) or vector(0)")).containsExactly("e_total");
	}

	/**
	 * The metric names in a PromQL expression: identifiers that are not functions or
	 * aggregations (followed by a parenthesis), keywords, label names (in braces or in
	 * {@code by (...)} lists), strings, durations, numbers or Grafana variables.
	 */
	static Set<String> metricNames(String expr) {
		String stripped = expr.replaceAll("\"(?:[^\"\\\\]|\\\\.)*\"", "\"\"")
			.replaceAll("\\{[^}]*}", "{}")
			.replaceAll("\\[[^]]*]", "[]")
			.replaceAll("\\$\\w+", "")
			.replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ");
		Set<String> names = new TreeSet<>();
		Matcher identifier = Pattern.compile("(?<![\\w.:$])([a-zA-Z_:][a-zA-Z0-9_:]*+)(?!\\s*\\()").matcher(stripped);
		while (identifier.find()) {
			String name = identifier.group(1);
			if (!KEYWORDS.contains(name)) {
				names.add(name);
			}
		}
		return names;
	}

	private static Set<String> scrapedNames(String scrape) {
		Set<String> names = new TreeSet<>();
		for (String line : scrape.split("\n")) {
			Matcher name = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]").matcher(line);
			if (name.find()) {
				names.add(name.group(1));
			}
		}
		return names;
	}

	private static List<Map<String, Object>> panels() throws IOException {
		Map<String, Object> dashboard = JsonMapper.builder()
			.build()
			.readValue(Files.readString(DASHBOARD), new TypeReference<Map<String, Object>>() {
			});
		List<Map<String, Object>> all = RenderedChart.at(dashboard, "panels");
		List<Map<String, Object>> panels = new ArrayList<>();
		for (Map<String, Object> panel : all) {
			if (!"row".equals(panel.get("type"))) {
				panels.add(panel);
			}
		}
		return panels;
	}

	private HttpResponse<String> post(String path, String body) throws IOException, InterruptedException {
		return http.send(request(path).header("Content-Type", "application/json")
			.POST((body != null) ? HttpRequest.BodyPublishers.ofString(body) : HttpRequest.BodyPublishers.noBody())
			.build(), HttpResponse.BodyHandlers.ofString());
	}

	private HttpRequest.Builder request(String path) {
		return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + this.port + path))
			.timeout(Duration.ofSeconds(30))
			.header("Authorization", "Bearer " + TestClients.TOKEN);
	}

}
