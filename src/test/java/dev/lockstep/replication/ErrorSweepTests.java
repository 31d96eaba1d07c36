package dev.lockstep.replication;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

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

}
