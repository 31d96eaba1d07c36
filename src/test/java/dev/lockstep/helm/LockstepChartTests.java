package dev.lockstep.helm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.xpath.XPathFactory;

import com.marcnuri.helm.DryRun;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.w3c.dom.Document;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.boot.context.config.ConfigDataEnvironmentPostProcessor;
import org.springframework.boot.convert.DurationStyle;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;

import static dev.lockstep.helm.RenderedChart.at;
import static dev.lockstep.helm.RenderedChart.value;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

/**
 * Tests of the Helm chart in {@code helm/lockstep}: it lints strictly, renders with
 * default and non-default values, and the rendered objects agree with the application's
 * own configuration. Helm runs in-process through helm-java; no cluster and no image are
 * needed.
 */
class LockstepChartTests {

	private static final Path CHART = Path.of("helm", "lockstep");

	private static final Path VALUES = Path.of("src", "test", "resources", "helm");

	private static final String RELEASE = "lockstep";

	private static final String NAMESPACE = "replication";

	/** The token in values-full.yaml. */
	private static final String FULL_TOKEN = "chart-test-token-4f7c2a9e1b";

	/** Stands in for the pod IP when a pod's environment is replayed. */
	private static final String POD_IP = "127.0.0.1";

	private static StandInKubernetesApi kubernetes;

	private static ApplicationConfiguration application;

	private static RenderedChart defaults;

	private static RenderedChart full;

	@BeforeAll
	static void renderChart() throws IOException {
		kubernetes = StandInKubernetesApi.start();
		application = ApplicationConfiguration.load();
		defaults = render(null);
		full = render("values-full.yaml");
	}

	@AfterAll
	static void stopKubernetes() {
		kubernetes.close();
	}

	@AfterEach
	void forgetSecrets() {
		kubernetes.clearSecrets();
	}

	@Test
	void lintStrictPasses() {
		LintResult result = new Helm(CHART).lint().strict().call();
		assertThat(result.isFailed()).as(String.join("\n", result.getMessages())).isFalse();
		assertThat(result.getMessages()).noneMatch((message) -> message.contains("[WARNING]"))
			.noneMatch((message) -> message.contains("[ERROR]"));
	}

	@Test
	void everyValueIsDocumentedWithParam() throws IOException {
		String text = Files.readString(CHART.resolve("values.yaml"));
		Set<String> documented = new TreeSet<>();
		Matcher param = Pattern.compile("^## @param (\\S+) \\S.*$", Pattern.MULTILINE).matcher(text);
		while (param.find()) {
			documented.add(param.group(1));
		}
		Map<String, Object> values = RenderedChart.yaml().load(text);
		List<String> undocumented = new ArrayList<>();
		collectUndocumented(values, "", documented, undocumented);
		assertThat(undocumented).as("values without ## @param").isEmpty();
		assertThat(documented).as("## @param for values that do not exist")
			.allSatisfy((path) -> assertThat(valueExists(values, path)).as(path).isTrue());
	}

	private static void collectUndocumented(Map<String, Object> values, String prefix, Set<String> documented,
			List<String> undocumented) {
		for (Map.Entry<String, Object> entry : values.entrySet()) {
			String path = prefix + entry.getKey();
			if (documented.contains(path)) {
				continue;
			}
			if (entry.getValue() instanceof Map<?, ?> map && !map.isEmpty()) {
				@SuppressWarnings("unchecked")
				Map<String, Object> nested = (Map<String, Object>) map;
				collectUndocumented(nested, path + ".", documented, undocumented);
			}
			else {
				undocumented.add(path);
			}
		}
	}

	private static boolean valueExists(Map<String, Object> values, String path) {
		Object node = values;
		for (String key : path.split("\\.")) {
			if (!(node instanceof Map<?, ?> map) || !map.containsKey(key)) {
				return false;
			}
			node = map.get(key);
		}
		return true;
	}

	@Test
	void appVersionIsTheMavenProjectVersion() throws Exception {
		Document pom = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(Path.of("pom.xml").toFile());
		String mavenVersion = XPathFactory.newInstance().newXPath().evaluate("/project/version", pom).trim();
		Map<String, Object> chart = RenderedChart.yaml().load(Files.readString(CHART.resolve("Chart.yaml")));
		assertThat(mavenVersion).isNotBlank();
		assertThat(chart.get("appVersion")).isEqualTo(mavenVersion);
		assertThat(chart.get("apiVersion")).isEqualTo("v2");
		assertThat(value(defaults.statefulSet(), "metadata", "labels", "app.kubernetes.io/version"))
			.isEqualTo(mavenVersion);
		assertThat(defaults.container().get("image")).isEqualTo("lockstep/lockstep:" + mavenVersion);
	}

	@Test
	void defaultValuesRenderTheCoreObjectsOnly() {
		assertThat(kinds(defaults)).containsExactlyInAnyOrder("ServiceAccount", "Secret", "ConfigMap", "Service",
				"Service", "StatefulSet");
		assertThat(defaults.ofKind("PodDisruptionBudget")).isEmpty();
		assertThat(defaults.ofKind("NetworkPolicy")).isEmpty();
		assertThat(defaults.ofKind("ServiceMonitor")).isEmpty();
		assertThat(defaults.ofKind("PrometheusRule")).isEmpty();
		assertThat(defaults.ofKind("Service")).extracting((service) -> at(service, "metadata", "name"))
			.containsExactlyInAnyOrder("lockstep", "lockstep-headless");
		Map<String, Object> api = defaults.get("Service", "lockstep");
		assertThat(value(api, "spec", "type")).isEqualTo("ClusterIP");
		assertThat(value(api, "spec", "ports", 0, "targetPort")).isEqualTo("http");
		assertThat(value(api, "spec", "selector"))
			.isEqualTo(at(defaults.statefulSet(), "spec", "selector", "matchLabels"));
	}

	@Test
	void nonDefaultValuesRenderEveryOptionalObject() {
		assertThat(kinds(full)).contains("PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor", "PrometheusRule");
		Map<String, Object> budget = full.get("PodDisruptionBudget", "colo-pair");
		assertThat(value(budget, "spec", "maxUnavailable")).isEqualTo(1);
		assertThat(value(budget, "spec", "selector", "matchLabels"))
			.isEqualTo(at(full.statefulSet(), "spec", "selector", "matchLabels"));
		for (int ordinal = 0; ordinal < 2; ordinal++) {
			Map<String, Object> nbd = full.get("Service", "colo-pair-" + ordinal + "-nbd");
			assertThat(value(nbd, "spec", "type")).isEqualTo("LoadBalancer");
			assertThat(value(nbd, "spec", "selector", "statefulset.kubernetes.io/pod-name"))
				.isEqualTo("colo-pair-" + ordinal);
			assertThat(value(nbd, "spec", "ports", 0, "targetPort")).isEqualTo("nbd");
		}
		assertThat(value(full.get("Service", "colo-pair"), "spec", "ports", 0, "port")).isEqualTo(80);
		assertThat(full.container().get("image")).isEqualTo("registry.example.com/platform/lockstep@sha256:"
				+ "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
		assertThat(value(full.statefulSet(), "metadata", "labels", "team")).isEqualTo("storage");
	}

	@Test
	void serviceMonitorScrapesTheApplicationsPrometheusEndpointOnEveryPod() {
		assertThat(application.exposedEndpoints()).contains("prometheus", "health");
		Map<String, Object> monitor = full.get("ServiceMonitor", "colo-pair");
		assertThat(value(monitor, "metadata", "labels", "release")).isEqualTo("prometheus");
		Map<String, Object> endpoint = at(monitor, "spec", "endpoints", 0);
		assertThat(endpoint.get("path")).isEqualTo(application.prometheusPath());
		assertThat(endpoint.get("interval")).isEqualTo("15s");
		assertThat(value(endpoint, "authorization", "credentials", "name")).isEqualTo("colo-pair-auth");
		Map<String, String> selector = at(monitor, "spec", "selector", "matchLabels");
		Map<String, Object> scraped = full.ofKind("Service")
			.stream()
			.filter((service) -> ((Map<?, ?>) at(service, "metadata", "labels")).entrySet()
				.containsAll(selector.entrySet()))
			.findFirst()
			.orElseThrow();
		assertThat(value(scraped, "spec", "publishNotReadyAddresses")).isEqualTo(true);
		List<Map<String, Object>> ports = at(scraped, "spec", "ports");
		Map<String, Object> scrapedPort = ports.stream()
			.filter((port) -> endpoint.get("port").equals(port.get("name")))
			.findFirst()
			.orElseThrow();
		assertThat(full.containerPort(scrapedPort.get("targetPort"))).isEqualTo(application.actuatorPort());
	}

	@Test
	void prometheusRuleAlertsOnTheScrapedSeriesWithTheDocumentedGauges() throws IOException {
		Map<String, Object> rule = full.get("PrometheusRule", "colo-pair");
		assertThat(value(rule, "metadata", "namespace")).isEqualTo(NAMESPACE);
		assertThat(value(rule, "metadata", "labels", "release")).isEqualTo("prometheus");
		List<Map<String, Object>> rules = at(rule, "spec", "groups", 0, "rules");
		assertThat(rules).extracting((alert) -> alert.get("alert"))
			.containsExactly("LockstepPrimaryNotForwarding", "LockstepReplicationFault",
					"LockstepResynchronisationPending");
		assertThat(rules).extracting((alert) -> alert.get("for")).containsExactly("2m", "2m", "30m");
		// Every selector names the series the ServiceMonitor scrapes: its job is the
		// headless Service.
		Map<String, String> selector = at(full.get("ServiceMonitor", "colo-pair"), "spec", "selector", "matchLabels");
		String scrapedService = full.ofKind("Service")
			.stream()
			.filter((service) -> ((Map<?, ?>) at(service, "metadata", "labels")).entrySet()
				.containsAll(selector.entrySet()))
			.map((service) -> (String) at(service, "metadata", "name"))
			.findFirst()
			.orElseThrow();
		Set<String> used = new TreeSet<>();
		for (Map<String, Object> alert : rules) {
			String expr = (String) alert.get("expr");
			Matcher series = Pattern.compile("(lockstep_[a-z_]+)\\{([^}]*)}").matcher(expr);
			int selectors = 0;
			while (series.find()) {
				used.add(series.group(1));
				assertThat(series.group(2)).as(expr)
					.contains("namespace=\"" + NAMESPACE + "\"", "job=\"" + scrapedService + "\"");
				selectors++;
			}
			assertThat(selectors).as(expr).isPositive();
			assertThat(value(alert, "annotations", "description")).asString().contains("{{ $labels.disk }}");
		}
		// and only gauges the application documents (a test of the replication package
		// checks those against a scrape).
		String docs = Files.readString(Path.of("docs", "replication.md"));
		String metrics = docs.substring(docs.indexOf("## Metrics"));
		assertThat(used).isNotEmpty().allSatisfy((name) -> assertThat(metrics).contains("`" + name));
	}

	@Test
	void grafanaDashboardIsOffByDefault() {
		assertThat(defaults.ofKind("ConfigMap")).extracting((configMap) -> at(configMap, "metadata", "name"))
			.containsExactly("lockstep");
		assertThat(defaults.manifests()).doesNotContain("grafana_dashboard");
	}

	@Test
	void grafanaDashboardIsAConfigMapForTheSidecarWithTheDashboardsJson() throws IOException {
		RenderedChart chart = RenderedChart.parse(new Helm(CHART).template()
			.withName(RELEASE)
			.withNamespace(NAMESPACE)
			.set("metrics.grafanaDashboard.enabled", "true")
			.call());
		Map<String, Object> configMap = chart.get("ConfigMap", "lockstep-grafana-dashboard");
		assertThat(value(configMap, "metadata", "namespace")).isEqualTo(NAMESPACE);
		assertThat(value(configMap, "metadata", "labels", "grafana_dashboard")).isEqualTo("1");
		assertThat(value(configMap, "metadata", "labels", "app.kubernetes.io/instance")).isEqualTo(RELEASE);
		assertThat(value(configMap, "metadata", "annotations")).isNull();
		String json = (String) value(configMap, "data", "lockstep.json");
		assertThat(json).isEqualTo(Files.readString(CHART.resolve("dashboards").resolve("lockstep.json")).strip());
		Map<String, Object> dashboard = JsonMapper.builder().build().readValue(json, new TypeReference<>() {
		});
		assertThat(dashboard.get("uid")).isEqualTo("lockstep");
		List<Map<String, Object>> variables = at(dashboard, "templating", "list");
		assertThat(variables).extracting((variable) -> variable.get("name"))
			.containsExactly("datasource", "namespace", "pod");
		assertThat(variables.get(0)).containsEntry("type", "datasource").containsEntry("query", "prometheus");
	}

	@Test
	void grafanaDashboardLabelFolderAndNamespaceAreConfigurable() {
		RenderedChart chart = RenderedChart.parse(new Helm(CHART).template()
			.withName(RELEASE)
			.withNamespace(NAMESPACE)
			.set("metrics.grafanaDashboard.enabled", "true")
			.set("metrics.grafanaDashboard.namespace", "monitoring")
			.set("metrics.grafanaDashboard.label", "example.com/dashboard")
			.set("metrics.grafanaDashboard.labelValue", "lockstep")
			.set("metrics.grafanaDashboard.folder", "Storage")
			.set("metrics.grafanaDashboard.labels.team", "storage")
			.call());
		Map<String, Object> configMap = chart.get("ConfigMap", "lockstep-grafana-dashboard");
		assertThat(value(configMap, "metadata", "namespace")).isEqualTo("monitoring");
		assertThat(value(configMap, "metadata", "labels")).asInstanceOf(InstanceOfAssertFactories.MAP)
			.containsEntry("example.com/dashboard", "lockstep")
			.containsEntry("team", "storage")
			.doesNotContainKey("grafana_dashboard");
		assertThat(value(configMap, "metadata", "annotations", "grafana_folder")).isEqualTo("Storage");
	}

	@Test
	void networkPolicyAdmitsNbdOnlyFromThePeerAndTheApiOnlyFromListedNamespaces() {
		for (int ordinal = 0; ordinal < 2; ordinal++) {
			Map<String, Object> policy = full.get("NetworkPolicy", "colo-pair-" + ordinal);
			assertThat(value(policy, "spec", "podSelector", "matchLabels", "statefulset.kubernetes.io/pod-name"))
				.isEqualTo("colo-pair-" + ordinal);
			assertThat(value(policy, "spec", "policyTypes")).isEqualTo(List.of("Ingress"));
			List<Map<String, Object>> rules = at(policy, "spec", "ingress");
			assertThat(rules).hasSize(2);
			Map<String, Object> nbd = rules.get(0);
			assertThat(value(nbd, "ports", 0, "port")).isEqualTo("nbd");
			assertThat(value(nbd, "from", 0, "podSelector", "matchLabels", "statefulset.kubernetes.io/pod-name"))
				.isEqualTo("colo-pair-" + (1 - ordinal));
			assertThat(value(nbd, "from", 1, "podSelector", "matchLabels", "app.kubernetes.io/name")).isEqualTo("qemu");
			assertThat((List<?>) at(nbd, "from")).hasSize(2);
			Map<String, Object> api = rules.get(1);
			assertThat(value(api, "ports", 0, "port")).isEqualTo("http");
			assertThat((List<?>) at(api, "from")).hasSize(2);
			assertThat(value(api, "from", 0, "namespaceSelector", "matchExpressions", 0, "values"))
				.isEqualTo(List.of(NAMESPACE, "orchestrator", "monitoring"));
			// The peer asks this pod's API before it fails over.
			assertThat(value(api, "from", 1, "podSelector", "matchLabels", "statefulset.kubernetes.io/pod-name"))
				.isEqualTo("colo-pair-" + (1 - ordinal));
		}
	}

	@Test
	void probesUseTheApplicationsActuatorPathsAndPort() {
		assertThat(application.healthProbesEnabled()).isTrue();
		assertThat(application.exposedEndpoints()).contains("health");
		for (RenderedChart chart : List.of(defaults, full)) {
			Map<String, Object> container = chart.container();
			assertThat(value(container, "startupProbe", "httpGet", "path")).isEqualTo(application.livenessPath());
			assertThat(value(container, "livenessProbe", "httpGet", "path")).isEqualTo(application.livenessPath());
			assertThat(value(container, "readinessProbe", "httpGet", "path")).isEqualTo(application.readinessPath());
			for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
				assertThat(chart.containerPort(at(container, probe, "httpGet", "port"))).as(probe)
					.isEqualTo(application.actuatorPort());
			}
			assertThat(chart.containerPort("http")).isEqualTo(application.serverPort());
			assertThat(chart.containerPort("nbd")).isPositive();
			assertThat(applicationYaml(chart).get(0)).extracting((document) -> value(document, "server", "port"))
				.isEqualTo(application.serverPort());
		}
		Map<String, Object> startup = at(full.container(), "startupProbe");
		assertThat(startup).containsEntry("periodSeconds", 2).containsEntry("failureThreshold", 90);
		assertThat((Map<String, Object>) at(full.container(), "readinessProbe")).containsEntry("successThreshold", 2);
		assertThat((Map<String, Object>) at(full.container(), "livenessProbe")).containsEntry("periodSeconds", 20);
	}

	@Test
	void eachPodsPeerIsTheOtherPodThroughTheHeadlessService() {
		assertPeers(defaults, "lockstep", "cluster.local", 10809);
		assertPeers(full, "colo-pair", "cluster.example", 10900);
	}

	private static void assertPeers(RenderedChart chart, String fullname, String clusterDomain, int nbdPort) {
		Map<String, Object> statefulSet = chart.statefulSet();
		assertThat(value(statefulSet, "spec", "replicas")).isEqualTo(2);
		String headless = at(statefulSet, "spec", "serviceName");
		Map<String, Object> service = chart.get("Service", headless);
		assertThat(value(service, "spec", "clusterIP")).isEqualTo("None");
		assertThat(value(service, "spec", "publishNotReadyAddresses")).isEqualTo(true);
		assertThat(chart.containerPort("nbd")).isEqualTo(nbdPort);
		Map<String, String> peers = new LinkedHashMap<>();
		for (Map<String, Object> document : applicationYaml(chart)) {
			String profile = at(document, "spring", "config", "activate", "on-profile");
			if (profile != null) {
				peers.put(profile, at(document, "lockstep", "block", "peer"));
			}
		}
		String suffix = "." + headless + "." + NAMESPACE + ".svc." + clusterDomain + ":" + nbdPort;
		assertThat(peers).containsExactly(Map.entry(fullname + "-0", "nbd://" + fullname + "-1" + suffix),
				Map.entry(fullname + "-1", "nbd://" + fullname + "-0" + suffix));
		// The profile that activates a pod's document is the pod's own name.
		assertThat(value(chart.env("POD_NAME"), "valueFrom", "fieldRef", "fieldPath")).isEqualTo("metadata.name");
		assertThat((String) chart.env("SPRING_PROFILES_ACTIVE").get("value")).startsWith("$(POD_NAME)");
		assertThat(chart.envIndex("POD_NAME")).isLessThan(chart.envIndex("SPRING_PROFILES_ACTIVE"));
		assertThat(value(chart.env("LOCKSTEP_BLOCK_NBD_BIND"), "valueFrom", "fieldRef", "fieldPath"))
			.isEqualTo("status.podIP");
	}

	@Test
	void eachPodAsksTheOtherPodsApiBeforeAFailoverWithTheSharedToken(@TempDir Path configDirectory) throws IOException {
		for (RenderedChart chart : List.of(defaults, full)) {
			Map<String, Object> reference = at(chart.env("LOCKSTEP_PAIR_PEER_TOKEN"), "valueFrom", "secretKeyRef");
			assertThat(reference).isEqualTo(at(chart.env("LOCKSTEP_SECURITY_API_TOKEN"), "valueFrom", "secretKeyRef"));
		}
		for (int ordinal = 0; ordinal < 2; ordinal++) {
			StandardEnvironment pod = podEnvironment(full, ordinal, configDirectory);
			assertThat(pod.getProperty("lockstep.pair.peer-api")).isEqualTo("http://colo-pair-" + (1 - ordinal)
					+ ".colo-pair-headless." + NAMESPACE + ".svc.cluster.example:" + full.containerPort("http"));
			assertThat(pod.getProperty("lockstep.pair.peer-token")).isEqualTo("from-secret");
			assertThat(pod.getProperty("lockstep.pair.peer-timeout")).isEqualTo("3s");
		}
		for (int ordinal = 0; ordinal < 2; ordinal++) {
			StandardEnvironment pod = podEnvironment(defaults, ordinal, configDirectory);
			assertThat(pod.getProperty("lockstep.pair.peer-api")).isEqualTo("http://lockstep-" + (1 - ordinal)
					+ ".lockstep-headless." + NAMESPACE + ".svc.cluster.local:" + application.serverPort());
			assertThat(pod.getProperty("lockstep.pair.peer-token")).isEqualTo("from-secret");
			assertThat(pod.getProperty("lockstep.pair.peer-timeout")).isEqualTo("2s");
		}
	}

	@Test
	void springResolvesEachPodsOwnPeerFromThePodsEnvironment(@TempDir Path configDirectory) throws IOException {
		for (int ordinal = 0; ordinal < 2; ordinal++) {
			StandardEnvironment pod = podEnvironment(full, ordinal, configDirectory);
			String peer = "nbd://colo-pair-" + (1 - ordinal) + ".colo-pair-headless." + NAMESPACE
					+ ".svc.cluster.example:10900";
			assertThat(pod.getActiveProfiles()).containsExactly("colo-pair-" + ordinal, "kubernetes");
			assertThat(pod.getProperty("lockstep.block.peer")).isEqualTo(peer);
			assertThat(pod.getProperty("lockstep.block.nbd.bind")).isEqualTo(POD_IP);
			assertThat(pod.getProperty("lockstep.block.nbd.port", Integer.class)).isEqualTo(10900);
			assertThat(pod.getProperty("server.port", Integer.class)).isEqualTo(application.serverPort());
			assertThat(pod.getProperty("lockstep.security.api-token")).isEqualTo("from-secret");
			assertThat(pod.getProperty("lockstep.block.disks[1].path")).isEqualTo("/data/images/iso.img");
			assertThat(pod.getProperty("lockstep.block.disks[1].read-only", Boolean.class)).isTrue();
			assertThat(pod.getProperty("lockstep.participants.remote[0].url")).isEqualTo("http://127.0.0.1:9090");
			assertThat(pod.getProperty("lockstep.coordinator.call-timeout")).isEqualTo("10s");
			assertThat(pod.getProperty("lockstep.health.liveness-includes-participant-errors", Boolean.class)).isTrue();
			assertThat(pod.getProperty("logging.level.dev.lockstep")).isEqualTo("DEBUG");
		}
		StandardEnvironment pod = podEnvironment(defaults, 1, configDirectory);
		assertThat(pod.getProperty("lockstep.block.peer"))
			.isEqualTo("nbd://lockstep-0.lockstep-headless." + NAMESPACE + ".svc.cluster.local:10809");
		assertThat(pod.getProperty("lockstep.block.disks[0].path")).isEqualTo("/data/disk0.img");
	}

	@Test
	void aSingleNodeHasNoPeer() {
		RenderedChart single = render("values-single.yaml");
		assertThat(value(single.statefulSet(), "spec", "replicas")).isEqualTo(1);
		assertThat(applicationYaml(single)).hasSize(1).allSatisfy((document) -> {
			assertThat(value(document, "lockstep", "block", "peer")).isNull();
			assertThat(value(document, "lockstep", "pair", "peer-api")).isNull();
		});
		Map<String, Object> policy = single.get("NetworkPolicy", "lockstep-0");
		List<Map<String, Object>> rules = at(policy, "spec", "ingress");
		assertThat(rules).extracting((rule) -> at(rule, "ports", 0, "port")).containsExactly("http");
	}

	@Test
	void theTokenComesFromTheSecretAndIsInlinedNowhereElse() {
		Map<String, Object> secret = full.get("Secret", "colo-pair-auth");
		assertThat(decode(at(secret, "data", "api-token"))).isEqualTo(FULL_TOKEN);
		Map<String, Object> reference = at(full.env("LOCKSTEP_SECURITY_API_TOKEN"), "valueFrom", "secretKeyRef");
		assertThat(reference).containsEntry("name", "colo-pair-auth").containsEntry("key", "api-token");
		String encoded = Base64.getEncoder().encodeToString(FULL_TOKEN.getBytes(StandardCharsets.UTF_8));
		for (Map<String, Object> object : full.objects()) {
			if (!"Secret".equals(object.get("kind"))) {
				String text = RenderedChart.yaml().dump(object);
				assertThat(text).as("%s %s", object.get("kind"), at(object, "metadata", "name"))
					.doesNotContain(FULL_TOKEN)
					.doesNotContain(encoded);
			}
		}
		String generated = decode(at(defaults.get("Secret", "lockstep-auth"), "data", "api-token"));
		assertThat(generated).matches("[A-Za-z0-9]{48}");
		assertThat(RenderedChart.yaml().dump(defaults.get("ConfigMap", "lockstep"))).doesNotContain(generated);
		assertThat(RenderedChart.yaml().dump(defaults.statefulSet())).doesNotContain(generated)
			.doesNotContain("api-token:");
	}

	/**
	 * helm-java's template resolves {@code lookup} against the cluster that
	 * {@code KUBECONFIG} names, here the stand-in, so both sides of the chart's token
	 * logic can be rendered: no Secret yet (install) and an existing Secret (upgrade).
	 */
	@Test
	void aGeneratedTokenIsKeptAcrossUpgradesThroughLookup() {
		int before = kubernetes.secretRequests();
		String first = decode(at(render(null).get("Secret", "lockstep-auth"), "data", "api-token"));
		String second = decode(at(render(null).get("Secret", "lockstep-auth"), "data", "api-token"));
		assertThat(first).isNotEqualTo(second);
		kubernetes.putSecret(NAMESPACE, "lockstep-auth", "api-token", "token-from-the-first-install");
		String upgraded = decode(at(render(null).get("Secret", "lockstep-auth"), "data", "api-token"));
		assertThat(kubernetes.secretRequests())
			.as("lookup requests reaching the stand-in API (a helm-java that renders client-only sends none)")
			.isEqualTo(before + 3);
		assertThat(upgraded).isEqualTo("token-from-the-first-install");
	}

	@Test
	void anExistingSecretIsReferencedAndNoneIsCreated() {
		RenderedChart chart = render("values-existing-secret.yaml");
		assertThat(chart.ofKind("Secret")).isEmpty();
		assertThat((Map<String, Object>) at(chart.env("LOCKSTEP_SECURITY_API_TOKEN"), "valueFrom", "secretKeyRef"))
			.containsEntry("name", "lockstep-token-from-vault")
			.containsEntry("key", "token");
		assertThat((Map<String, Object>) at(chart.get("ServiceMonitor", "lockstep"), "spec", "endpoints", 0,
				"authorization", "credentials"))
			.containsEntry("name", "lockstep-token-from-vault")
			.containsEntry("key", "token");
	}

	@Test
	void podsRunRestrictedWithOnlyDataAndTmpWritable() {
		for (RenderedChart chart : List.of(defaults, full)) {
			Map<String, Object> pod = at(chart.podSpec(), "securityContext");
			assertThat(pod).containsEntry("runAsNonRoot", true);
			assertThat(value(pod, "seccompProfile", "type")).isEqualTo("RuntimeDefault");
			assertThat((Integer) pod.get("runAsUser")).isPositive();
			Map<String, Object> container = at(chart.container(), "securityContext");
			assertThat(container).containsEntry("runAsNonRoot", true)
				.containsEntry("readOnlyRootFilesystem", true)
				.containsEntry("allowPrivilegeEscalation", false);
			assertThat(value(container, "capabilities", "drop")).isEqualTo(List.of("ALL"));
			assertThat(value(container, "seccompProfile", "type")).isEqualTo("RuntimeDefault");
			List<Map<String, Object>> mounts = at(chart.container(), "volumeMounts");
			assertThat(mounts).filteredOn((mount) -> !Boolean.TRUE.equals(mount.get("readOnly")))
				.extracting((mount) -> mount.get("mountPath"))
				.containsExactlyInAnyOrder("/data", "/tmp");
			List<Map<String, Object>> volumes = at(chart.podSpec(), "volumes");
			assertThat(volumes).filteredOn((volume) -> "tmp".equals(volume.get("name")))
				.singleElement()
				.satisfies((volume) -> assertThat(volume).containsKey("emptyDir"));
			assertThat(value(chart.podSpec(), "automountServiceAccountToken")).isEqualTo(false);
		}
	}

	@Test
	void podsRunOnePerNodeWithTheirOwnDataVolume() {
		Map<String, Object> hard = at(defaults.podSpec(), "affinity", "podAntiAffinity",
				"requiredDuringSchedulingIgnoredDuringExecution", 0);
		assertThat(hard.get("topologyKey")).isEqualTo("kubernetes.io/hostname");
		assertThat(value(hard, "labelSelector", "matchLabels"))
			.isEqualTo(at(defaults.statefulSet(), "spec", "selector", "matchLabels"));
		Map<String, Object> soft = at(full.podSpec(), "affinity", "podAntiAffinity",
				"preferredDuringSchedulingIgnoredDuringExecution", 0);
		assertThat(value(soft, "podAffinityTerm", "topologyKey")).isEqualTo("kubernetes.io/hostname");
		for (RenderedChart chart : List.of(defaults, full)) {
			Map<String, Object> claim = at(chart.statefulSet(), "spec", "volumeClaimTemplates", 0);
			assertThat(value(claim, "metadata", "name")).isEqualTo("data");
			List<Map<String, Object>> mounts = at(chart.container(), "volumeMounts");
			assertThat(mounts).filteredOn((mount) -> "data".equals(mount.get("name")))
				.singleElement()
				.satisfies((mount) -> assertThat(mount.get("mountPath")).isEqualTo("/data"));
			assertThat(chart.container().get("workingDir")).isEqualTo("/");
		}
		assertThat(value(full.statefulSet(), "spec", "volumeClaimTemplates", 0, "spec", "storageClassName"))
			.isEqualTo("fast-local");
		assertThat(value(full.statefulSet(), "spec", "volumeClaimTemplates", 0, "spec", "resources", "requests",
				"storage"))
			.isEqualTo("20Gi");
	}

	@Test
	void terminationGraceCoversThePreStopSleepAndTheShutdownPhase() {
		Duration appShutdown = application.shutdownPhaseTimeout();
		for (RenderedChart chart : List.of(defaults, full)) {
			int grace = at(chart.podSpec(), "terminationGracePeriodSeconds");
			Map<String, Object> preStop = at(chart.container(), "lifecycle", "preStop");
			int sleep = preStop.containsKey("sleep") ? at(preStop, "sleep", "seconds")
					: Integer.parseInt(at(preStop, "exec", "command", 1));
			Duration chartShutdown = DurationStyle
				.detectAndParse(at(applicationYaml(chart).get(0), "spring", "lifecycle", "timeout-per-shutdown-phase"));
			assertThat(sleep).isPositive();
			assertThat(Duration.ofSeconds(grace)).isGreaterThan(Duration.ofSeconds(sleep).plus(chartShutdown));
			assertThat(value(applicationYaml(chart).get(0), "server", "shutdown")).isEqualTo("graceful");
		}
		// The chart's default shutdown phase is the application's own.
		assertThat(DurationStyle
			.detectAndParse(at(applicationYaml(defaults).get(0), "spring", "lifecycle", "timeout-per-shutdown-phase")))
			.isEqualTo(appShutdown);
		assertThatIllegalStateException().isThrownBy(() -> render("bad-grace-period.yaml"))
			.withMessageContaining("terminationGracePeriodSeconds (40) must be greater than");
	}

	@Test
	void theHeapFollowsTheMemoryLimit() {
		assertThat((String) defaults.env("JAVA_TOOL_OPTIONS").get("value")).contains("-XX:MaxRAMPercentage=30")
			.contains("-XX:InitialRAMPercentage=12")
			.contains("-XX:+UseG1GC")
			.contains("-XX:MaxDirectMemorySize=288m");
		assertThat((String) full.env("JAVA_TOOL_OPTIONS").get("value")).contains("-XX:MaxRAMPercentage=50")
			.contains("-Xss512k");
		assertThat(defaults.env("MALLOC_ARENA_MAX")).containsEntry("value", "2");
		// What bench/soak.sh measured (about 300 MiB resident) fits the request; the
		// limit holds the
		// heap, all of the NBD buffer budget as direct memory, and metaspace.
		Map<String, Object> defaultResources = at(defaults.container(), "resources");
		assertThat(value(defaultResources, "requests", "memory")).isEqualTo("384Mi");
		assertThat(value(defaultResources, "limits", "memory")).isEqualTo("768Mi");
		for (RenderedChart chart : List.of(defaults, full)) {
			Map<String, Object> resources = at(chart.container(), "resources");
			assertThat(value(resources, "limits", "memory")).isNotNull();
			assertThat(value(resources, "requests", "memory")).isNotNull();
			assertThat(value(resources, "requests", "cpu")).isNotNull();
		}
	}

	@Test
	void withTlsOffNothingOfTlsIsRendered() {
		assertThat(defaults.ofKind("Certificate")).isEmpty();
		assertThat(defaults.manifests()).doesNotContain("/etc/lockstep/tls").doesNotContain("HTTPS");
		Map<String, Object> shared = applicationYaml(defaults).get(0);
		assertThat(value(shared, "server", "ssl")).isNull();
		assertThat(value(shared, "spring", "ssl")).isNull();
		assertThat(value(shared, "lockstep", "block", "nbd", "tls")).isNull();
		assertThat(value(shared, "lockstep", "pair", "peer-ssl-bundle")).isNull();
		Map<String, Object> test = renderWithTests(null).get("Pod", "lockstep-test-health");
		assertThat(value(test, "spec", "containers", 0, "image")).isEqualTo("busybox:1.37");
		assertThat(String.join("\n", (List<String>) at(test, "spec", "containers", 0, "command"))).contains("wget -q")
			.contains("http://lockstep-0.lockstep-headless." + NAMESPACE
					+ ".svc.cluster.local:8080/actuator/health/liveness")
			.doesNotContain("https://");
	}

	@Test
	void withCertManagerOneCertificateNamesBothPodsAndTheApiService() {
		RenderedChart chart = render("values-tls-cert-manager.yaml");
		Map<String, Object> certificate = chart.get("Certificate", "lockstep-tls");
		String headless = ".lockstep-headless." + NAMESPACE + ".svc.cluster.local";
		assertThat((List<String>) at(certificate, "spec", "dnsNames")).containsExactly("lockstep-0" + headless,
				"lockstep-1" + headless, "lockstep." + NAMESPACE + ".svc",
				"lockstep." + NAMESPACE + ".svc.cluster.local");
		assertThat((Map<String, Object>) at(certificate, "spec", "issuerRef")).containsEntry("name", "lockstep-ca")
			.containsEntry("kind", "ClusterIssuer");
		assertThat((List<String>) at(certificate, "spec", "usages")).contains("server auth", "client auth");
		assertTls("values-tls-cert-manager.yaml", "lockstep", "lockstep-tls", "lockstep", "cluster.local");
		assertThat(value(applicationYaml(chart).get(0), "lockstep", "participants", "remote", 0))
			.isEqualTo(Map.of("name", "qemu-colo", "url", "https://127.0.0.1:9443", "ssl-bundle", "lockstep"));
		Map<String, Object> endpoint = at(chart.get("ServiceMonitor", "lockstep"), "spec", "endpoints", 0);
		assertThat(endpoint.get("scheme")).isEqualTo("https");
		assertThat(value(endpoint, "tlsConfig", "ca", "secret", "name")).isEqualTo("lockstep-tls");
		assertThat(value(endpoint, "tlsConfig", "ca", "secret", "key")).isEqualTo("ca.crt");
		assertThat(value(endpoint, "tlsConfig", "serverName")).isEqualTo("lockstep-0" + headless);
	}

	@Test
	void withAnExistingSecretNoCertificateIsRenderedAndTheSecretIsMounted() {
		assertThat(render("values-tls-existing-secret.yaml").ofKind("Certificate")).isEmpty();
		assertTls("values-tls-existing-secret.yaml", "colo-pair", "colo-pair-certificates", "replication",
				"cluster.local");
	}

	@SuppressWarnings("unchecked")
	private static void assertTls(String valuesFile, String fullname, String secret, String bundle,
			String clusterDomain) {
		RenderedChart chart = render(valuesFile);
		Map<String, Object> volume = ((List<Map<String, Object>>) at(chart.podSpec(), "volumes")).stream()
			.filter((candidate) -> "tls".equals(candidate.get("name")))
			.findFirst()
			.orElseThrow();
		assertThat(value(volume, "secret", "secretName")).isEqualTo(secret);
		assertThat((List<Map<String, Object>>) at(chart.container(), "volumeMounts"))
			.contains(Map.of("name", "tls", "mountPath", "/etc/lockstep/tls", "readOnly", true));
		for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
			assertThat(value(chart.container(), probe, "httpGet", "scheme")).as(probe).isEqualTo("HTTPS");
		}
		Map<String, Object> shared = applicationYaml(chart).get(0);
		Map<String, Object> pem = at(shared, "spring", "ssl", "bundle", "pem", bundle);
		assertThat(pem).containsEntry("reload-on-update", true);
		assertThat(value(pem, "keystore", "certificate")).isEqualTo("/etc/lockstep/tls/tls.crt");
		assertThat(value(pem, "keystore", "private-key")).isEqualTo("/etc/lockstep/tls/tls.key");
		assertThat(value(pem, "truststore", "certificate")).isEqualTo("/etc/lockstep/tls/ca.crt");
		assertThat(value(shared, "server", "ssl", "bundle")).isEqualTo(bundle);
		assertThat((Map<String, Object>) at(shared, "lockstep", "block", "nbd", "tls"))
			.containsExactlyInAnyOrderEntriesOf(Map.of("mode", "required", "bundle", bundle, "client-auth", "need"));
		String headless = "." + fullname + "-headless." + NAMESPACE + ".svc." + clusterDomain;
		assertThat((List<String>) at(shared, "lockstep", "block", "replica", "allowed-peers"))
			.containsExactly(fullname + "-0" + headless, fullname + "-1" + headless);
		assertThat(value(shared, "lockstep", "pair", "peer-ssl-bundle")).isEqualTo(bundle);
		Map<String, String> nbdPeers = new LinkedHashMap<>();
		Map<String, String> apiPeers = new LinkedHashMap<>();
		for (Map<String, Object> document : applicationYaml(chart)) {
			String profile = at(document, "spring", "config", "activate", "on-profile");
			if (profile != null) {
				nbdPeers.put(profile, at(document, "lockstep", "block", "peer"));
				apiPeers.put(profile, at(document, "lockstep", "pair", "peer-api"));
			}
		}
		assertThat(nbdPeers).containsExactly(
				Map.entry(fullname + "-0", "nbds://" + fullname + "-1" + headless + ":10809"),
				Map.entry(fullname + "-1", "nbds://" + fullname + "-0" + headless + ":10809"));
		assertThat(apiPeers).containsExactly(
				Map.entry(fullname + "-0", "https://" + fullname + "-1" + headless + ":8080"),
				Map.entry(fullname + "-1", "https://" + fullname + "-0" + headless + ":8080"));
		Map<String, Object> test = renderWithTests(valuesFile).get("Pod", fullname + "-test-health");
		String script = String.join("\n", (List<String>) at(test, "spec", "containers", 0, "command"));
		assertThat(script).contains("curl -fsS")
			.contains("--cacert /tls/ca.crt")
			.contains("https://" + fullname + "-0" + headless + ":8080/actuator/health/liveness")
			.contains("https://" + fullname + "." + NAMESPACE + ".svc." + clusterDomain)
			.doesNotContain("http://");
		assertThat(value(test, "spec", "volumes", 0, "secret", "secretName")).isEqualTo(secret);
		assertThat(value(test, "spec", "volumes", 0, "secret", "items", 0, "key")).isEqualTo("ca.crt");
	}

	@ParameterizedTest
	@CsvSource(delimiter = '|', textBlock = """
			bad-replica-count.yaml    | replicaCount: Invalid type. Expected: integer, given: string
			bad-unknown-key.yaml      | Additional property replicaCont is not allowed
			bad-disk-replication.yaml | lockstep.block.disks.0.replication
			bad-tls-no-source.yaml    | tls
			""")
	void badValuesFailSchemaValidation(String file, String message) {
		assertThatIllegalStateException().isThrownBy(() -> render(file))
			.withMessageContaining("values don't meet the specifications of the schema")
			.withMessageContaining(message);
	}

	@Test
	void notesExplainSwaggerUiTheTokenAndTheStartOrder() {
		String notes = new Helm(CHART).install()
			.withName(RELEASE)
			.withNamespace(NAMESPACE)
			.dryRun()
			.withDryRunOption(DryRun.CLIENT)
			.clientOnly()
			.debug()
			.call()
			.getOutput();
		assertThat(notes).contains("/swagger-ui.html")
			.contains("get secret lockstep-auth -o jsonpath='{.data.api-token}' | base64 -d")
			.contains("Authorization: Bearer $LOCKSTEP_TOKEN")
			.contains("port-forward pod/lockstep-0")
			.contains("port-forward pod/lockstep-1");
		assertThat(notes.indexOf("{\"mode\":\"secondary\"}")).isPositive()
			.isLessThan(notes.indexOf("{\"mode\":\"primary\"}"));
	}

	@Test
	void withTlsTheNotesTellHowToCallTheApiWithTheCa() {
		String notes = new Helm(CHART).install()
			.withName(RELEASE)
			.withNamespace(NAMESPACE)
			.withValuesFile(VALUES.resolve("values-tls-cert-manager.yaml"))
			.dryRun()
			.withDryRunOption(DryRun.CLIENT)
			.clientOnly()
			.debug()
			.call()
			.getOutput();
		assertThat(notes).contains("TLS is on")
			.contains("get secret lockstep-tls -o jsonpath='{.data.ca\\.crt}' | base64 -d > ca.crt")
			.contains("https://lockstep-0.lockstep-headless." + NAMESPACE + ".svc.cluster.local:8080");
	}

	private static RenderedChart render(String valuesFile) {
		TemplateCommand template = new Helm(CHART).template().withName(RELEASE).withNamespace(NAMESPACE);
		if (valuesFile != null) {
			template = template.withValuesFile(VALUES.resolve(valuesFile));
		}
		return RenderedChart.parse(template.call());
	}

	/**
	 * Renders the chart with its {@code helm test} pods, which {@code template} leaves
	 * out as hooks: a copy of the chart without the hook annotations.
	 */
	private static RenderedChart renderWithTests(String valuesFile) {
		try {
			Path copy = Files.createTempDirectory(Path.of("target"), "chart-with-tests");
			try (var files = Files.walk(CHART)) {
				for (Path source : files.toList()) {
					Path target = copy.resolve(CHART.relativize(source).toString());
					if (Files.isDirectory(source)) {
						Files.createDirectories(target);
					}
					else {
						String text = Files.readString(source);
						if (source.startsWith(CHART.resolve("templates").resolve("tests"))) {
							text = text.replaceAll("(?m)^\\s*helm\\.sh/hook.*$", "");
						}
						Files.writeString(target, text);
					}
				}
			}
			TemplateCommand template = new Helm(copy).template().withName(RELEASE).withNamespace(NAMESPACE);
			if (valuesFile != null) {
				template = template.withValuesFile(VALUES.resolve(valuesFile));
			}
			return RenderedChart.parse(template.call());
		}
		catch (IOException ex) {
			throw new java.io.UncheckedIOException(ex);
		}
	}

	private static List<String> kinds(RenderedChart chart) {
		return chart.objects().stream().map((object) -> (String) object.get("kind")).toList();
	}

	private static String decode(String base64) {
		return new String(Base64.getDecoder().decode(base64), StandardCharsets.UTF_8);
	}

	/**
	 * The documents of the ConfigMap's application.yaml.
	 */
	@SuppressWarnings("unchecked")
	private static List<Map<String, Object>> applicationYaml(RenderedChart chart) {
		Map<String, Object> configMap = chart.ofKind("ConfigMap").get(0);
		List<Map<String, Object>> documents = new ArrayList<>();
		for (Object document : RenderedChart.yaml().loadAll((String) at(configMap, "data", "application.yaml"))) {
			documents.add((Map<String, Object>) document);
		}
		return documents;
	}

	/**
	 * Replays pod {@code ordinal}'s environment (with its downward API fields filled in
	 * and the ConfigMap written where the pod mounts it) through Spring Boot's config
	 * data loading, as the application does at start-up.
	 */
	private static StandardEnvironment podEnvironment(RenderedChart chart, int ordinal, Path configDirectory)
			throws IOException {
		String podName = at(chart.statefulSet(), "metadata", "name") + "-" + ordinal;
		String mountPath = configMountPath(chart);
		Files.writeString(configDirectory.resolve("application.yaml"),
				(String) at(chart.ofKind("ConfigMap").get(0), "data", "application.yaml"));
		Map<String, Object> variables = new LinkedHashMap<>();
		List<Map<String, Object>> env = at(chart.container(), "env");
		for (Map<String, Object> variable : env) {
			String name = (String) variable.get("name");
			if (variable.containsKey("value")) {
				String value = expand((String) variable.get("value"), variables);
				variables.put(name, value.replace("file:" + mountPath, "file:" + configDirectory));
			}
			else if ("metadata.name".equals(at(variable, "valueFrom", "fieldRef", "fieldPath"))) {
				variables.put(name, podName);
			}
			else if ("status.podIP".equals(at(variable, "valueFrom", "fieldRef", "fieldPath"))) {
				variables.put(name, POD_IP);
			}
			else if (at(variable, "valueFrom", "secretKeyRef") != null) {
				variables.put(name, "from-secret");
			}
		}
		StandardEnvironment environment = new StandardEnvironment();
		environment.getPropertySources()
			.replace(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, new SystemEnvironmentPropertySource(
					StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, variables));
		ConfigDataEnvironmentPostProcessor.applyTo(environment);
		return environment;
	}

	private static String configMountPath(RenderedChart chart) {
		List<Map<String, Object>> volumes = at(chart.podSpec(), "volumes");
		String volume = volumes.stream()
			.filter((candidate) -> candidate.containsKey("configMap"))
			.map((candidate) -> (String) candidate.get("name"))
			.findFirst()
			.orElseThrow();
		List<Map<String, Object>> mounts = at(chart.container(), "volumeMounts");
		return mounts.stream()
			.filter((mount) -> volume.equals(mount.get("name")))
			.map((mount) -> (String) mount.get("mountPath"))
			.findFirst()
			.orElseThrow();
	}

	/**
	 * Expands {@code $(NAME)} references to earlier variables, as the kubelet does.
	 */
	private static String expand(String value, Map<String, Object> earlier) {
		Matcher matcher = Pattern.compile("\\$\\(([A-Za-z_][A-Za-z0-9_]*)\\)").matcher(value);
		StringBuilder expanded = new StringBuilder();
		while (matcher.find()) {
			Object replacement = earlier.get(matcher.group(1));
			matcher.appendReplacement(expanded,
					Matcher.quoteReplacement((replacement != null) ? replacement.toString() : matcher.group()));
		}
		matcher.appendTail(expanded);
		return expanded.toString();
	}

}
