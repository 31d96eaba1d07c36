package dev.lockstep.api;

import java.net.URI;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import dev.lockstep.replication.CoordinatorProperties;
import dev.lockstep.replication.OperationListener;
import dev.lockstep.replication.OperationOutcome;
import dev.lockstep.replication.OperationReport;
import dev.lockstep.replication.ReplicationCoordinator;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.stereotype.Component;
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
 * that one still runs, and no participant is called again; the same key with another
 * request is refused with {@code 422}.</li>
 * </ul>
 * Any operation that reports through {@link OperationListener#operationStarted} on the
 * thread that asked for it can be run this way.
 */
@Component
class OperationRequests implements OperationListener, DisposableBean {

	static final String PREFER = "Prefer";

	static final String PREFERENCE_APPLIED = "Preference-Applied";

	static final String RESPOND_ASYNC = "respond-async";

	static final String IDEMPOTENCY_KEY = "Idempotency-Key";

	static final String OPERATIONS = "/api/v1/replication/operations/";

	private static final int MAX_KEY_LENGTH = 255;

	private final ReplicationCoordinator coordinator;

	private final IdempotencyKeys keys;

	/** The request whose operation the current thread runs. */
	private static final ThreadLocal<IdempotencyKeys.@Nullable Call> current = new ThreadLocal<>();

	private final ExecutorService executor;

	OperationRequests(ReplicationCoordinator coordinator, ObjectProvider<CoordinatorProperties> properties) {
		this.coordinator = coordinator;
		this.keys = new IdempotencyKeys(properties.getIfAvailable(CoordinatorProperties::defaults).history());
		AtomicInteger threads = new AtomicInteger();
		this.executor = Executors.newCachedThreadPool((task) -> {
			Thread thread = new Thread(task, "lockstep-operation-" + threads.incrementAndGet());
			thread.setDaemon(true);
			return thread;
		});
	}

	/**
	 * Runs an operation for a request, or answers a retry of an earlier one.
	 * @param prefer the request's {@code Prefer} header
	 * @param idempotencyKey the request's {@code Idempotency-Key} header
	 * @param fingerprint what the request asks for: the operation and every value of its
	 * body that matters, so that two requests with equal fingerprints are the same
	 * request
	 * @param operation runs the operation and returns its final report
	 * @return {@code 202} with the report so far, or {@code 200} with the final report
	 * @throws OperationFailedException if the operation (or the one retried) failed
	 */
	ResponseEntity<OperationReport> run(@Nullable String prefer, @Nullable String idempotencyKey, String fingerprint,
			Supplier<OperationReport> operation) {
		boolean async = respondAsync(prefer);
		String key = checkKey(idempotencyKey);
		IdempotencyKeys.Call call;
		if (key != null) {
			IdempotencyKeys.Claim claim = this.keys.claim(key, fingerprint,
					(id) -> this.coordinator.operation(id).isPresent());
			call = claim.call();
			if (!claim.first()) {
				return retry(call, fingerprint, async);
			}
		}
		else {
			call = new IdempotencyKeys.Call(fingerprint);
		}
		IdempotencyKeys.Call running = call;
		if (async) {
			this.executor.execute(() -> perform(running, key, operation));
			return answer(await(call.started));
		}
		perform(call, key, operation);
		return answer(await(call.finished));
	}

	@Override
	public void operationStarted(OperationReport report) {
		IdempotencyKeys.Call call = current.get();
		if (call != null) {
			call.started.complete(report);
		}
	}

	@Override
	public void destroy() {
		this.executor.shutdown();
	}

	private void perform(IdempotencyKeys.Call call, @Nullable String key, Supplier<OperationReport> operation) {
		current.set(call);
		try {
			OperationReport report = operation.get();
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
		finally {
			current.remove();
		}
	}

	private ResponseEntity<OperationReport> retry(IdempotencyKeys.Call call, String fingerprint, boolean async) {
		if (!call.fingerprint().equals(fingerprint)) {
			throw new IdempotencyKeyReusedException("This Idempotency-Key was first sent with another request ("
					+ call.fingerprint() + "); a key may only be reused to retry the same request with the same "
					+ "body. Send a new key for a new request.");
		}
		if (call.finished.isDone() || !async) {
			return answer(await(call.finished));
		}
		OperationReport started = await(call.started);
		return answer(this.coordinator.operation(started.id()).orElse(started));
	}

	private static ResponseEntity<OperationReport> answer(OperationReport report) {
		if (report.outcome() == OperationOutcome.RUNNING) {
			return ResponseEntity.accepted()
				.location(URI.create(OPERATIONS + report.id()))
				.header(PREFERENCE_APPLIED, RESPOND_ASYNC)
				.body(report);
		}
		if (report.outcome() == OperationOutcome.FAILED) {
			throw new OperationFailedException(report);
		}
		return ResponseEntity.ok(report);
	}

	private static OperationReport await(CompletableFuture<OperationReport> report) {
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

}
