package dev.lockstep.api;

import java.net.URI;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;

import jakarta.servlet.http.HttpServletRequest;
import org.jspecify.annotations.Nullable;

import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.util.StringUtils;
import org.springframework.web.server.ResponseStatusException;

/**
 * Runs the operation a {@code POST} asks for, the way its headers ask:
 * <ul>
 * <li>{@code Prefer: respond-async} (RFC 7240) runs it on a thread of its own and answers
 * {@code 202 Accepted} as soon as it started, with the report so far and a
 * {@code Location} to poll; an operation that had nothing to do answers at once, as
 * without the header;</li>
 * <li>an {@code Idempotency-Key} makes the request safe to retry: a retry with the same
 * key and the same request gets the first request's report, with the same id, even while
 * that one still runs, and nothing is called again; the same key with another request is
 * refused with {@code 422}.</li>
 * </ul>
 * One instance serves one kind of report: the node's operations or the pair's.
 *
 * @param <R> the kind of report
 */
final class AsyncCalls<R> {

	static final String PREFER = "Prefer";

	static final String PREFERENCE_APPLIED = "Preference-Applied";

	static final String RESPOND_ASYNC = "respond-async";

	static final String IDEMPOTENCY_KEY = "Idempotency-Key";

	private static final int MAX_KEY_LENGTH = 255;

	private final Reports<R> reports;

	private final IdempotencyKeys<R> keys;

	private final ExecutorService executor;

	AsyncCalls(String threadName, int history, Reports<R> reports) {
		this.reports = reports;
		this.keys = new IdempotencyKeys<>(history, reports::id);
		AtomicInteger threads = new AtomicInteger();
		this.executor = Executors.newCachedThreadPool((task) -> {
			Thread thread = new Thread(task, threadName + "-" + threads.incrementAndGet());
			thread.setDaemon(true);
			return thread;
		});
	}

	/**
	 * Runs an operation for a request, or answers a retry of an earlier one.
	 * @param http the request, whose {@code Prefer} and {@code Idempotency-Key} headers
	 * count
	 * @param fingerprint what the request asks for: the operation and every value of its
	 * body that matters, so that two requests with equal fingerprints are the same
	 * request
	 * @param operation runs the operation, hands the report to the consumer as soon as
	 * the operation started, and returns the final report
	 * @return {@code 202} with the report so far, or {@code 200} with the final report
	 * @throws RuntimeException what {@link Reports#failure} makes of a failed report
	 */
	ResponseEntity<R> run(HttpServletRequest http, String fingerprint, Function<Consumer<R>, R> operation) {
		boolean async = respondAsync(http.getHeader(PREFER));
		String key = checkKey(http.getHeader(IDEMPOTENCY_KEY));
		IdempotencyKeys.Call<R> call;
		if (key != null) {
			IdempotencyKeys.Claim<R> claim = this.keys.claim(key, fingerprint,
					(id) -> this.reports.find(id).isPresent());
			call = claim.call();
			if (!claim.first()) {
				return retry(call, fingerprint, async);
			}
		}
		else {
			call = new IdempotencyKeys.Call<>(fingerprint);
		}
		IdempotencyKeys.Call<R> running = call;
		if (async) {
			this.executor.execute(() -> perform(running, key, operation));
			return answer(await(call.started));
		}
		perform(call, key, operation);
		return answer(await(call.finished));
	}

	void shutdown() {
		this.executor.shutdown();
	}

	private void perform(IdempotencyKeys.Call<R> call, @Nullable String key, Function<Consumer<R>, R> operation) {
		try {
			R report = operation.apply(call.started::complete);
			call.started.complete(report);
			call.finished.complete(report);
		}
		catch (RuntimeException | Error ex) {
			if (key != null) {
				this.keys.release(key, call);
			}
			call.started.completeExceptionally(ex);
			call.finished.completeExceptionally(ex);
		}
	}

	private ResponseEntity<R> retry(IdempotencyKeys.Call<R> call, String fingerprint, boolean async) {
		if (!call.fingerprint().equals(fingerprint)) {
			throw new IdempotencyKeyReusedException("This Idempotency-Key was first sent with another request ("
					+ call.fingerprint() + "); a key may only be reused to retry the same request with the same "
					+ "body. Send a new key for a new request.");
		}
		if (call.finished.isDone() || !async) {
			return answer(await(call.finished));
		}
		R started = await(call.started);
		Optional<R> now = this.reports.find(this.reports.id(started));
		return answer(now.orElse(started));
	}

	private ResponseEntity<R> answer(R report) {
		if (this.reports.running(report)) {
			return ResponseEntity.accepted()
				.location(URI.create(this.reports.location(report)))
				.header(PREFERENCE_APPLIED, RESPOND_ASYNC)
				.body(report);
		}
		RuntimeException failure = this.reports.failure(report);
		if (failure != null) {
			throw failure;
		}
		return ResponseEntity.ok(report);
	}

	private static <R> R await(CompletableFuture<R> report) {
		try {
			return report.join();
		}
		catch (CompletionException ex) {
			Throwable cause = ex.getCause();
			if (cause instanceof RuntimeException runtime) {
				throw runtime;
			}
			if (cause instanceof Error error) {
				throw error;
			}
			throw ex;
		}
	}

	/**
	 * Whether a {@code Prefer} header asks for an asynchronous answer (RFC 7240: a
	 * comma-separated list of preferences, each with optional parameters).
	 */
	static boolean respondAsync(@Nullable String prefer) {
		if (prefer == null) {
			return false;
		}
		for (String preference : StringUtils.tokenizeToStringArray(prefer, ",")) {
			int semicolon = preference.indexOf(';');
			String token = ((semicolon >= 0) ? preference.substring(0, semicolon) : preference).strip();
			int equals = token.indexOf('=');
			String name = (equals >= 0) ? token.substring(0, equals).strip() : token;
			if (name.toLowerCase(Locale.ROOT).equals(RESPOND_ASYNC)) {
				return true;
			}
		}
		return false;
	}

	private static @Nullable String checkKey(@Nullable String key) {
		if (key == null) {
			return null;
		}
		String trimmed = key.strip();
		boolean printable = !trimmed.isEmpty() && trimmed.length() <= MAX_KEY_LENGTH
				&& trimmed.chars().allMatch((c) -> c > 0x20 && c < 0x7f);
		if (!printable) {
			throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "An Idempotency-Key must be 1 to "
					+ MAX_KEY_LENGTH + " visible ASCII characters, such as a UUID; send a new key with each request");
		}
		return trimmed;
	}

	/**
	 * What the calls need to know of one kind of report.
	 *
	 * @param <R> the kind of report
	 */
	interface Reports<R> {

		/** The report's id. */
		String id(R report);

		/** The report of that id, as far as it is still kept. */
		Optional<R> find(String id);

		/** Whether the operation still runs. */
		boolean running(R report);

		/** Where the report can be polled. */
		String location(R report);

		/**
		 * The exception a failed report answers with, or {@code null} if it succeeded.
		 */
		@Nullable RuntimeException failure(R report);

	}

}
