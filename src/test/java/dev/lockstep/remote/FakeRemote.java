package dev.lockstep.remote;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * A remote participant served by the JDK's HTTP server on a loopback port. It records
 * every request it gets and answers each action with a configurable status and body, or
 * hangs until closed.
 */
final class FakeRemote implements AutoCloseable {

	private static final Answer OK = new Answer(200, "application/json", "{}");

	private final HttpServer server;

	private final ExecutorService executor;

	private final String basePath;

	private final List<Call> calls = new CopyOnWriteArrayList<>();

	private final Map<String, Answer> answers = new ConcurrentHashMap<>();

	private final CountDownLatch release = new CountDownLatch(1);

	private final List<String> journal;

	private FakeRemote(String basePath, List<String> journal) throws IOException {
		this.basePath = basePath;
		this.journal = journal;
		this.executor = Executors.newCachedThreadPool((task) -> {
			Thread thread = new Thread(task, "fake-remote" + basePath);
			thread.setDaemon(true);
			return thread;
		});
		this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
		this.server.setExecutor(this.executor);
		this.server.createContext(basePath + "/", this::handle);
		this.server.start();
	}

	static FakeRemote start(String basePath) throws IOException {
		return new FakeRemote(basePath, new CopyOnWriteArrayList<>());
	}

	/**
	 * Starts a server that also writes every lifecycle call it gets, as
	 * {@code <basePath> <action> <body>}, to a journal shared with other servers.
	 */
	static FakeRemote start(String basePath, List<String> journal) throws IOException {
		return new FakeRemote(basePath, journal);
	}

	/**
	 * Returns the base URL to configure.
	 */
	URI url() {
		return URI.create("http://127.0.0.1:" + this.server.getAddress().getPort() + this.basePath);
	}

	/**
	 * Answers the action ({@code start}, {@code checkpoint}, {@code error}, {@code stop})
	 * with this status and JSON body from now on.
	 */
	FakeRemote answer(String action, int status, String body) {
		return answer(action, status, "application/json", body);
	}

	FakeRemote answer(String action, int status, String contentType, String body) {
		this.answers.put(action, new Answer(status, contentType, body));
		return this;
	}

	/**
	 * Makes the action hang until this server is closed.
	 */
	FakeRemote hang(String action) {
		this.answers.put(action, Answer.HANG);
		return this;
	}

	/**
	 * Answers every action normally again.
	 */
	FakeRemote reset() {
		this.answers.clear();
		return this;
	}

	/**
	 * Returns the lifecycle calls received, without the {@code /error} polls.
	 */
	List<Call> lifecycleCalls() {
		return this.calls.stream().filter((call) -> !call.action().equals("error")).toList();
	}

	/**
	 * Returns every call received.
	 */
	List<Call> calls() {
		return List.copyOf(this.calls);
	}

	void clearCalls() {
		this.calls.clear();
	}

	private void handle(HttpExchange exchange) throws IOException {
		try (exchange) {
			String action = exchange.getRequestURI().getPath().substring(this.basePath.length() + 1);
			String body;
			try (InputStream in = exchange.getRequestBody()) {
				body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
			}
			this.calls.add(new Call(exchange.getRequestMethod(), action, body,
					exchange.getRequestHeaders().getFirst("Content-Type")));
			if (!action.equals("error")) {
				this.journal.add(this.basePath.substring(1) + " " + action + " " + body);
			}
			Answer answer = this.answers.getOrDefault(action,
					action.equals("error") ? new Answer(200, "application/json", "{\"error\":null}") : OK);
			if (answer == Answer.HANG) {
				try {
					this.release.await(30, TimeUnit.SECONDS);
				}
				catch (InterruptedException ex) {
					Thread.currentThread().interrupt();
				}
				return;
			}
			byte[] bytes = answer.body().getBytes(StandardCharsets.UTF_8);
			if (answer.contentType() != null) {
				exchange.getResponseHeaders().set("Content-Type", answer.contentType());
			}
			if (answer.status() == 204 || bytes.length == 0) {
				exchange.sendResponseHeaders(answer.status(), -1);
			}
			else {
				exchange.sendResponseHeaders(answer.status(), bytes.length);
				try (OutputStream out = exchange.getResponseBody()) {
					out.write(bytes);
				}
			}
		}
	}

	@Override
	public void close() {
		this.release.countDown();
		this.server.stop(0);
		this.executor.shutdownNow();
	}

	/**
	 * One request received.
	 */
	record Call(String method, String action, String body, String contentType) {

		@Override
		public String toString() {
			return this.method + " " + this.action + " " + this.body;
		}

	}

	private record Answer(int status, String contentType, String body) {

		static final Answer HANG = new Answer(0, null, "");

	}

}
