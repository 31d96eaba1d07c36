package dev.lockstep.block.replicated;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

import dev.lockstep.LockstepApplication;
import dev.lockstep.block.DiskEngine;
import dev.lockstep.block.Export;
import dev.lockstep.block.nbd.Tools;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One Lockstep node for two-node tests: a full application context on fixed loopback
 * ports, with one disk {@code disk0} in its own directory, driven through the REST API
 * and read and written with qemu-io.
 */
final class LockstepNode implements AutoCloseable {

	/** The API token of every test node. */
	static final String TOKEN = "replication-test-token";

	static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

	final String name;

	final Path dir;

	final int httpPort;

	final int nbdPort;

	private final List<String> properties;

	private ConfigurableApplicationContext context;

	LockstepNode(String name, Path dir, int httpPort, int nbdPort, int peerNbdPort, String size, String replication) {
		this.name = name;
		this.dir = dir;
		this.httpPort = httpPort;
		this.nbdPort = nbdPort;
		this.properties = new ArrayList<>(List.of("server.port=" + httpPort, "lockstep.block.nbd.port=" + nbdPort,
				"lockstep.block.disks[0].name=disk0", "lockstep.block.disks[0].path=" + dir.resolve("disk0.img"),
				"lockstep.block.disks[0].size=" + size, "lockstep.block.disks[0].replication=" + replication,
				"lockstep.block.peer=nbd://127.0.0.1:" + peerNbdPort, "lockstep.block.replication.forward-timeout=3s",
				"lockstep.block.replication.progress-interval=1s", "lockstep.block.replication.probe-interval=300ms",
				"spring.main.banner-mode=off", "logging.level.root=WARN",
				"logging.level.dev.lockstep.block.replicated=INFO", "lockstep.security.api-token=" + TOKEN));
	}

	/**
	 * Adds a setting, such as {@code lockstep.pair.max-pause=10s}, for the next start, in
	 * place of any earlier value of the same setting.
	 */
	LockstepNode with(String property) {
		String key = property.substring(0, property.indexOf('=') + 1);
		this.properties.removeIf((existing) -> existing.startsWith(key));
		this.properties.add(property);
		return this;
	}

	static int[] freePorts(int count) throws IOException {
		int[] ports = new int[count];
		List<ServerSocket> sockets = new ArrayList<>();
		try {
			for (int i = 0; i < count; i++) {
				ServerSocket socket = new ServerSocket(0);
				sockets.add(socket);
				ports[i] = socket.getLocalPort();
			}
		}
		finally {
			for (ServerSocket socket : sockets) {
				socket.close();
			}
		}
		return ports;
	}

	LockstepNode start() {
		// Command-line arguments, which take precedence over application.yaml.
		this.context = new SpringApplicationBuilder(LockstepApplication.class).run(arguments().toArray(String[]::new));
		return this;
	}

	/**
	 * Closes the node cleanly and starts it again on the same directory and ports, as a
	 * restart of its process would.
	 */
	LockstepNode restart() {
		close();
		return start();
	}

	/**
	 * The node's settings as command-line arguments, for a node run as its own process.
	 */
	List<String> arguments() {
		return this.properties.stream().map((property) -> "--" + property).toList();
	}

	/**
	 * Starts qemu-io on an export and returns at once: for writes that must be in flight
	 * while something else happens.
	 */
	Process ioInBackground(String export, String... commands) throws IOException {
		List<String> command = new ArrayList<>(List.of("qemu-io", "-f", "raw", uri(export)));
		for (String each : commands) {
			command.add("-c");
			command.add(each);
		}
		return new ProcessBuilder(command).redirectErrorStream(true).start();
	}

	/** The disk's image file. */
	Path image() {
		return this.dir.resolve("disk0.img");
	}

	/** The replication status of {@code disk0}, read in this JVM. */
	DiskReplicationStatus disk() {
		return participant().status().disks().get(0);
	}

	boolean running() {
		return this.context != null && this.context.isActive();
	}

	/** Stops the node as a crash would look to its peer: its sockets close. */
	@Override
	public void close() {
		if (this.context != null) {
			this.context.close();
			this.context = null;
		}
	}

	/**
	 * Closes each of {@code resources} that is set, in order: the nodes of a test, its
	 * proxy.
	 */
	static void closeAll(AutoCloseable... resources) throws Exception {
		for (AutoCloseable resource : resources) {
			if (resource != null) {
				resource.close();
			}
		}
	}

	BlockReplicationParticipant participant() {
		return this.context.getBean(BlockReplicationParticipant.class);
	}

	/** The node's export of that name, which must exist. */
	Export export(String name) {
		return this.context.getBean(DiskEngine.class).exports().get(name);
	}

	String uri(String export) {
		return "nbd://127.0.0.1:" + this.nbdPort + "/" + export;
	}

	Response post(String path, String body) throws IOException, InterruptedException {
		return post(path, body, new String[0]);
	}

	/**
	 * Posts with extra headers, given as name, value, name, value…
	 * @return the answer; {@link Response#location()} is its {@code Location} header
	 */
	Response post(String path, String body, String... headers) throws IOException, InterruptedException {
		HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + this.httpPort + path))
			.timeout(Duration.ofSeconds(60))
			.header("Content-Type", "application/json")
			.header("Authorization", "Bearer " + TOKEN)
			.POST((body != null) ? HttpRequest.BodyPublishers.ofString(body) : HttpRequest.BodyPublishers.noBody());
		for (int i = 0; i + 1 < headers.length; i += 2) {
			request.header(headers[i], headers[i + 1]);
		}
		HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
		return new Response(response.statusCode(), response.body(),
				response.headers().firstValue("Location").orElse(null));
	}

	Response get(String path) throws IOException, InterruptedException {
		HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + this.httpPort + path))
			.timeout(Duration.ofSeconds(30))
			.header("Authorization", "Bearer " + TOKEN)
			.GET()
			.build();
		HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
		return new Response(response.statusCode(), response.body(), null);
	}

	Response start(String mode) throws IOException, InterruptedException {
		return post("/api/v1/replication/start", "{\"mode\":\"" + mode + "\"}");
	}

	/**
	 * Starts the node as a secondary that lets the primary overwrite its own changes.
	 */
	Response startDiscardingLocalChanges() throws IOException, InterruptedException {
		return post("/api/v1/replication/start", "{\"mode\":\"secondary\",\"discardLocalChanges\":true}");
	}

	/** A failover that skips the check of the peer. */
	Response forcedFailover() throws IOException, InterruptedException {
		return post("/api/v1/replication/stop", "{\"failover\":true,\"force\":true}");
	}

	/**
	 * The body of {@code GET /api/v1/replication/errors} once it contains {@code text},
	 * asking for at most 5 s: a sweep may be reused for the error cache's lifetime.
	 */
	String awaitErrors(String text) throws IOException, InterruptedException {
		long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
		String body = get("/api/v1/replication/errors").body();
		while (!body.contains(text) && System.nanoTime() < deadline) {
			Thread.sleep(100);
			body = get("/api/v1/replication/errors").body();
		}
		assertThat(body).contains(text);
		return body;
	}

	Response checkpoint() throws IOException, InterruptedException {
		return post("/api/v1/replication/checkpoint", null);
	}

	Response stop(boolean failover) throws IOException, InterruptedException {
		return post("/api/v1/replication/stop", "{\"failover\":" + failover + "}");
	}

	/**
	 * Runs one qemu-io command against an export of this node and returns its result.
	 * Reads open the export read-only, so they work on read-only exports.
	 */
	Tools.Result qemuIo(String export, String command) throws IOException, InterruptedException {
		if (command.startsWith("read ")) {
			return Tools.run(60, "qemu-io", "-r", "-f", "raw", uri(export), "-c", command);
		}
		return Tools.run(60, "qemu-io", "-f", "raw", uri(export), "-c", command);
	}

	/**
	 * Runs qemu-io and fails unless the command succeeded (a pattern mismatch is a
	 * failure).
	 */
	void io(String export, String command) throws IOException, InterruptedException {
		Tools.Result result = qemuIo(export, command);
		if (result.exitCode() != 0 || result.output().contains("Pattern verification failed")
				|| result.output().contains("failed:")) {
			throw new AssertionError(
					this.name + ": qemu-io " + uri(export) + " -c '" + command + "':\n" + result.output());
		}
	}

	/**
	 * An answer of the API.
	 *
	 * @param status the HTTP status
	 * @param body the body
	 * @param location the {@code Location} header, if any
	 */
	record Response(int status, String body, @org.jspecify.annotations.Nullable String location) {
	}

}
