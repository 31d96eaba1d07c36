package dev.lockstep.remote;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;

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

	private final List<String> clientCertificates = new CopyOnWriteArrayList<>();

	private final String scheme;

	private FakeRemote(String basePath, List<String> journal) throws IOException {
		this(basePath, journal, null, false);
	}

	private FakeRemote(String basePath, List<String> journal, SSLContext tls, boolean needClientAuth)
			throws IOException {
		this.basePath = basePath;
		this.journal = journal;
		this.executor = Executors.newCachedThreadPool((task) -> {
			Thread thread = new Thread(task, "fake-remote" + basePath);
			thread.setDaemon(true);
			return thread;
		});
		InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
		if (tls != null) {
			HttpsServer https = HttpsServer.create(address, 0);
			https.setHttpsConfigurator(new HttpsConfigurator(tls) {
				@Override
				public void configure(HttpsParameters params) {
					SSLParameters parameters = tls.getDefaultSSLParameters();
					parameters.setNeedClientAuth(needClientAuth);
					params.setSSLParameters(parameters);
				}
			});
			this.server = https;
			this.scheme = "https";
		}
		else {
			this.server = HttpServer.create(address, 0);
			this.scheme = "http";
		}
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
	 * Starts a server that speaks HTTPS with this TLS context, and asks for a client
	 * certificate if told to.
	 */
	static FakeRemote startHttps(String basePath, SSLContext tls, boolean needClientAuth) throws IOException {
		return new FakeRemote(basePath, new CopyOnWriteArrayList<>(), tls, needClientAuth);
	}

	/**
	 * Returns the base URL to configure.
	 */
	URI url() {
		return url("127.0.0.1");
	}

	/**
	 * Returns the base URL to configure, with this host name for the loopback address.
	 */
	URI url(String host) {
		return URI.create(this.scheme + "://" + host + ":" + this.server.getAddress().getPort() + this.basePath);
	}

	/**
	 * Returns the subjects of the client certificates presented, one per request.
	 */
	List<String> clientCertificates() {
		return List.copyOf(this.clientCertificates);
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
			if (exchange instanceof HttpsExchange https) {
				this.clientCertificates.add(clientSubject(https));
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

	private static String clientSubject(HttpsExchange exchange) {
		try {
			Certificate[] chain = exchange.getSSLSession().getPeerCertificates();
			return (chain.length > 0 && chain[0] instanceof X509Certificate client)
					? client.getSubjectX500Principal().getName() : "none";
		}
		catch (SSLPeerUnverifiedException ex) {
			return "none";
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
