package dev.lockstep.pair;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;

import org.junit.jupiter.api.Test;

import dev.lockstep.replication.ReplicationMode;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * The peer as a pair operation drives it, when it cannot be reached.
 */
class PeerMemberTests {

	@Test
	void aPeerGoneInTheMiddleOfAPairOperationIsAFailedStepNotAnEscapedException() throws IOException {
		PeerMember peer = new PeerMember(new PeerApi(URI.create("http://127.0.0.1:" + closedPort()), () -> "token",
				Duration.ofSeconds(2), Duration.ofSeconds(2)), JsonMapper.builder().build());
		MemberAnswer answer = peer.start(ReplicationMode.PRIMARY, "test");
		assertThat(answer.succeeded()).isFalse();
		assertThat(answer.steps()).isEmpty();
		assertThat(answer.message()).contains("could not be reached").contains("lockstep.pair.peer-api");
		assertThat(peer.stop("test").succeeded()).isFalse();
		// Asking for its status before an operation refuses the operation instead.
		assertThatExceptionOfType(PairRefusedException.class).isThrownBy(peer::status)
			.withMessageContaining("could not be reached");
	}

	private static int closedPort() throws IOException {
		try (ServerSocket socket = new ServerSocket(0)) {
			return socket.getLocalPort();
		}
	}

}
