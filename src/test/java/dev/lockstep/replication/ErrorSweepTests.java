package dev.lockstep.replication;

import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link ErrorSweep}.
 */
class ErrorSweepTests {

	private final ParticipantRegistry registry = new ParticipantRegistry();

	private final ParticipantExecutor executor = new ParticipantExecutor();

	private final CountDownLatch release = new CountDownLatch(1);

	private final ErrorSweep sweep = new ErrorSweep(this.registry, this.executor, Duration.ofMillis(200),
			Duration.ofSeconds(10), Clock.systemUTC());

	@AfterEach
	void cleanUp() {
		this.release.countDown();
		this.executor.close();
	}

	private TestParticipant participant(String name) {
		TestParticipant participant = new TestParticipant(name);
		this.registry.register(participant, 0, ParticipantKind.BEAN);
		return participant;
	}

	@Test
	void reportsEveryErrorNotOnlyTheFirst() {
		participant("a").reportError("peer unreachable");
		participant("b");
		participant("c").reportError("overlay I/O error");
		SweepResult result = this.sweep.sweep(Duration.ZERO);
		assertThat(result.healthy()).isFalse();
		assertThat(result.complete()).isTrue();
		assertThat(result.errors()).containsExactly(new ParticipantError("a", "peer unreachable"),
				new ParticipantError("c", "overlay I/O error"));
	}

	@Test
	void hungParticipantIsReportedWithinTheDeadlineAndNotCalledTwice() {
		participant("ok");
		TestParticipant hung = participant("hung");
		hung.blockErrors(this.release);
		long before = System.nanoTime();
		SweepResult first = this.sweep.sweep(Duration.ZERO);
		SweepResult second = this.sweep.sweep(Duration.ZERO);
		assertThat(Duration.ofNanos(System.nanoTime() - before)).isLessThan(Duration.ofSeconds(2));
		assertThat(first.complete()).isFalse();
		assertThat(first.errorOf("hung")).get().asString().contains("did not answer within 200ms");
		assertThat(first.errorOf("ok")).isEmpty();
		assertThat(second.complete()).isFalse();
		this.release.countDown();
		hung.blockErrors(null);
		assertThat(this.sweep.sweep(Duration.ZERO).healthy()).isTrue();
	}

	@Test
	void cachedResultIsReusedUntilInvalidated() {
		TestParticipant a = participant("a");
		SweepResult first = this.sweep.sweep();
		a.reportError("broken");
		assertThat(this.sweep.sweep()).isSameAs(first);
		this.sweep.invalidate();
		assertThat(this.sweep.sweep().errorOf("a")).contains("broken");
	}

	@Test
	void throwingErrorMethodIsReportedAsTheParticipantsError() {
		this.registry.register(new TestParticipant("thrower") {
			@Override
			public java.util.Optional<String> error() {
				throw new IllegalStateException("state unreadable");
			}
		}, 0, ParticipantKind.BEAN);
		assertThat(this.sweep.sweep(Duration.ZERO).errorOf("thrower")).get().asString().contains("state unreadable");
	}

	@Test
	void sweepInFlightAcrossAnInvalidationIsNotServedAfterIt() throws Exception {
		AtomicReference<String> error = new AtomicReference<>("peer unreachable");
		CountDownLatch asked = new CountDownLatch(1);
		this.registry.register(new TestParticipant("disk") {
			@Override
			public Optional<String> error() {
				// answers with the state it found when asked
				Optional<String> answer = Optional.ofNullable(error.get());
				asked.countDown();
				awaitIgnoringInterrupts(ErrorSweepTests.this.release, Duration.ofSeconds(10));
				return answer;
			}
		}, 0, ParticipantKind.BEAN);
		ErrorSweep sweep = new ErrorSweep(this.registry, this.executor, Duration.ofSeconds(5), Duration.ofSeconds(10),
				Clock.systemUTC());
		CompletableFuture<SweepResult> before = CompletableFuture.supplyAsync(() -> sweep.sweep(Duration.ZERO));
		assertThat(asked.await(5, TimeUnit.SECONDS)).isTrue();
		// an operation mends the participant and ends
		error.set(null);
		sweep.invalidate();
		CompletableFuture<SweepResult> after = CompletableFuture.supplyAsync(sweep::sweep);
		this.release.countDown();
		assertThat(before.get(10, TimeUnit.SECONDS).errorOf("disk")).contains("peer unreachable");
		assertThat(after.get(10, TimeUnit.SECONDS).errors()).isEmpty();
		assertThat(sweep.sweep().errors()).isEmpty();
		assertThat(sweep.last()).get().satisfies((last) -> assertThat(last.healthy()).isTrue());
	}

	@Test
	void cachedResultAgesFromWhenItsSweepStarted() {
		AtomicInteger asks = new AtomicInteger();
		this.registry.register(new TestParticipant("slow") {
			@Override
			public Optional<String> error() {
				asks.incrementAndGet();
				awaitIgnoringInterrupts(new CountDownLatch(1), Duration.ofMillis(300));
				return Optional.empty();
			}
		}, 0, ParticipantKind.BEAN);
		ErrorSweep sweep = new ErrorSweep(this.registry, this.executor, Duration.ofSeconds(5), Duration.ofSeconds(10),
				Clock.systemUTC());
		SweepResult first = sweep.sweep(Duration.ZERO);
		assertThat(asks).hasValue(1);
		// finished just now, but started 300ms ago
		SweepResult second = sweep.sweep(Duration.ofMillis(250));
		assertThat(second).isNotSameAs(first);
		assertThat(asks).hasValue(2);
		assertThat(sweep.sweep(Duration.ofSeconds(10))).isSameAs(second);
		assertThat(asks).hasValue(2);
	}

}
