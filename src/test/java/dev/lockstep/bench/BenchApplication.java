package dev.lockstep.bench;

import java.util.Optional;

import dev.lockstep.LockstepApplication;
import dev.lockstep.replication.ParticipantKind;
import dev.lockstep.replication.ParticipantRegistry;
import dev.lockstep.replication.ReplicationMode;
import dev.lockstep.replication.ReplicationParticipant;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.ApplicationRunner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;

/**
 * Lockstep with {@code lockstep.bench.participants} no-op participants, for the HTTP
 * benchmark in {@code bench/http.sh}: it measures the service, not a participant.
 */
public final class BenchApplication {

	private BenchApplication() {
	}

	public static void main(String[] args) {
		SpringApplication.from(LockstepApplication::main).with(NoOpParticipants.class).run(args);
	}

	@TestConfiguration(proxyBeanMethods = false)
	static class NoOpParticipants {

		@Bean
		ApplicationRunner registerNoOpParticipants(ParticipantRegistry registry,
				@Value("${lockstep.bench.participants:10}") int count) {
			return (arguments) -> {
				for (int i = 0; i < count; i++) {
					registry.register(new NoOp("noop-" + i), i, ParticipantKind.BEAN);
				}
			};
		}

	}

	record NoOp(String name) implements ReplicationParticipant {

		@Override
		public void start(ReplicationMode mode) {
		}

		@Override
		public void checkpoint() {
		}

		@Override
		public Optional<String> error() {
			return Optional.empty();
		}

		@Override
		public void stop(boolean failover) {
		}

	}

}
