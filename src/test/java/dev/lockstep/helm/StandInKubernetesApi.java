package dev.lockstep.helm;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * A loopback stand-in for the Kubernetes API, answering the two requests that the chart's
 * {@code lookup} of its token Secret makes: core API discovery and a Secret GET.
 * helm-java's template resolves {@code lookup} against the cluster named by
 * {@code KUBECONFIG}; the build sets that variable to a file this class writes, so no
 * test ever reaches a real cluster.
 */
final class StandInKubernetesApi implements AutoCloseable {

	private static final String CORE_RESOURCES = """
			{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"v1","resources":[
			{"name":"secrets","singularName":"secret","namespaced":true,"kind":"Secret","verbs":["get","list"]}]}""";

	private static final String NOT_FOUND = """
			{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","reason":"NotFound","code":404}""";

	private final HttpServer server;

	private final Map<String, String> secrets = new ConcurrentHashMap<>();

	private final AtomicInteger secretRequests = new AtomicInteger();

	private StandInKubernetesApi(HttpServer server) {
		this.server = server;
	}

	/**
	 * Starts the server on a free loopback port and writes the kubeconfig that
	 * {@code KUBECONFIG} names.
	 */
	static StandInKubernetesApi start() throws IOException {
		String kubeconfig = System.getenv("KUBECONFIG");
		if (kubeconfig == null || kubeconfig.isBlank()) {
			throw new IllegalStateException(
					"KUBECONFIG must name a file for the chart tests (the Maven build sets it)");
		}
		HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
		StandInKubernetesApi api = new StandInKubernetesApi(server);
		server.createContext("/", api::handle);
		server.start();
		Path file = Path.of(kubeconfig);
		Files.createDirectories(file.toAbsolutePath().getParent());
		Files.writeString(file, """
				apiVersion: v1
				kind: Config
				clusters:
				  - name: stand-in
				    cluster:
				      server: http://127.0.0.1:%d
				contexts:
				  - name: stand-in
				    context:
				      cluster: stand-in
				      user: stand-in
				current-context: stand-in
				users:
				  - name: stand-in
				    user: {}
				""".formatted(server.getAddress().getPort()));
		return api;
	}

	/**
	 * Makes a Secret with one key exist, as it would after an earlier install.
	 */
	void putSecret(String namespace, String name, String key, String value) {
		String data = Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8));
		this.secrets.put(secretPath(namespace, name), """
				{"kind":"Secret","apiVersion":"v1","metadata":{"name":"%s","namespace":"%s"},"type":"Opaque",
				"data":{"%s":"%s"}}""".formatted(name, namespace, key, data));
	}

	void clearSecrets() {
		this.secrets.clear();
	}

	/**
	 * Number of Secret GETs answered so far.
	 */
	int secretRequests() {
		return this.secretRequests.get();
	}

	private static String secretPath(String namespace, String name) {
		return "/api/v1/namespaces/" + namespace + "/secrets/" + name;
	}

	private void handle(HttpExchange exchange) throws IOException {
		String path = exchange.getRequestURI().getPath();
		if ("GET".equals(exchange.getRequestMethod()) && "/api/v1".equals(path)) {
			respond(exchange, 200, CORE_RESOURCES);
			return;
		}
		if ("GET".equals(exchange.getRequestMethod()) && path.contains("/secrets/")) {
			this.secretRequests.incrementAndGet();
			String secret = this.secrets.get(path);
			respond(exchange, (secret != null) ? 200 : 404, (secret != null) ? secret : NOT_FOUND);
			return;
		}
		respond(exchange, 404, NOT_FOUND);
	}

	private static void respond(HttpExchange exchange, int status, String body) throws IOException {
		byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
		exchange.getResponseHeaders().add("Content-Type", "application/json");
		exchange.sendResponseHeaders(status, bytes.length);
		try (OutputStream out = exchange.getResponseBody()) {
			out.write(bytes);
		}
	}

	@Override
	public void close() {
		this.server.stop(0);
	}

}
