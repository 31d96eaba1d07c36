package dev.lockstep.api;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.lockstep.replication.CoordinatorState;
import dev.lockstep.replication.ErrorSweep;
import dev.lockstep.replication.Operation;
import dev.lockstep.replication.OperationConflictException;
import dev.lockstep.replication.OperationOutcome;
import dev.lockstep.replication.OperationReport;
import dev.lockstep.replication.ParticipantError;
import dev.lockstep.replication.ParticipantKind;
import dev.lockstep.replication.ParticipantStatus;
import dev.lockstep.replication.ReplicationCoordinator;
import dev.lockstep.replication.ReplicationMode;
import dev.lockstep.replication.StartOptions;
import dev.lockstep.replication.ReplicationStatus;
import dev.lockstep.replication.StepAction;
import dev.lockstep.replication.StepOutcome;
import dev.lockstep.replication.StepReport;
import dev.lockstep.replication.SweepResult;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.lockstep.TestClients;
import dev.lockstep.security.SecurityConfiguration;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.context.annotation.Import;
import org.springframework.http.HttpHeaders;
import org.springframework.web.context.WebApplicationContext;
import org.springframework.boot.webmvc.test.autoconfigure.WebMvcTest;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.test.context.bean.override.mockito.MockitoBean;
import org.springframework.test.web.servlet.assertj.MockMvcTester;
import org.springframework.test.web.servlet.assertj.MvcTestResult;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyBoolean;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.BDDMockito.given;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.verifyNoInteractions;
import static org.springframework.security.test.web.servlet.setup.SecurityMockMvcConfigurers.springSecurity;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;

/**
 * Web slice tests for {@link ReplicationController} and the problem+json errors.
 */
@WebMvcTest(ReplicationController.class)
@Import({ SecurityConfiguration.class, OperationRequests.class })
class ReplicationControllerTests {

	private static final Instant NOW = Instant.parse("2026-11-26T10:00:00Z");

	@Autowired
	private WebApplicationContext context;

	private MockMvcTester mvc;

	@MockitoBean
	private ReplicationCoordinator coordinator;

	private final ErrorSweep sweep = mock(ErrorSweep.class);

	@BeforeEach
	void setUp() {
		given(this.coordinator.errorSweep()).willReturn(this.sweep);
		this.mvc = MockMvcTester.from(this.context,
				(builder) -> builder.apply(springSecurity())
					.defaultRequest(get("/").header(HttpHeaders.AUTHORIZATION, "Bearer " + TestClients.TOKEN))
					.build());
	}

	private static OperationReport report(Operation operation, OperationOutcome outcome, StepReport... steps) {
		return new OperationReport("op-1", operation, (operation == Operation.START) ? ReplicationMode.PRIMARY : null,
				(operation == Operation.STOP) ? Boolean.TRUE : null, outcome, CoordinatorState.RUNNING,
				"client 127.0.0.1", NOW, 12, List.of(steps));
	}

	private MvcTestResult post(String path, String body) {
		return this.mvc.post().uri(path).contentType(MediaType.APPLICATION_JSON).content(body).exchange();
	}

	@Test
	void startWithDiscardLocalChangesPassesItToTheCoordinator() {
		given(this.coordinator.start(eq(ReplicationMode.SECONDARY), eq(new StartOptions(true)), anyString()))
			.willReturn(report(Operation.START, OperationOutcome.SUCCEEDED,
					new StepReport("disk0", StepAction.START, StepOutcome.SUCCEEDED, 3, null)));
		assertThat(post("/api/v1/replication/start", "{\"mode\":\"secondary\",\"discardLocalChanges\":true}"))
			.hasStatusOk();
		verify(this.coordinator).start(eq(ReplicationMode.SECONDARY), eq(new StartOptions(true)), anyString());
	}

	@Test
	void discardLocalChangesOnAPrimaryIsABadRequestThatSaysWhereItBelongs() {
		assertThat(post("/api/v1/replication/start", "{\"mode\":\"primary\",\"discardLocalChanges\":true}"))
			.hasStatus(400)
			.bodyJson()
			.extractingPath("$.detail")
			.asString()
			.contains("applies only to a secondary")
			.contains("{\"mode\":\"secondary\"}");
		verifyNoInteractions(this.coordinator);
	}

	@Test
	void startReturnsTheReport() {
		given(this.coordinator.start(eq(ReplicationMode.SECONDARY), eq(StartOptions.NONE), anyString()))
			.willReturn(report(Operation.START, OperationOutcome.SUCCEEDED,
					new StepReport("disk0", StepAction.START, StepOutcome.SUCCEEDED, 3, null)));
		assertThat(post("/api/v1/replication/start", "{\"mode\":\"secondary\"}")).hasStatusOk()
			.bodyJson()
			.satisfies((json) -> {
				assertThat(json).extractingPath("$.outcome").isEqualTo("succeeded");
				assertThat(json).extractingPath("$.steps[0].participant").isEqualTo("disk0");
				assertThat(json).extractingPath("$.steps[0].action").isEqualTo("start");
				assertThat(json).extractingPath("$.steps[0].durationMillis").isEqualTo(3);
				assertThat(json).extractingPath("$.startedAt").isEqualTo("2026-11-26T10:00:00Z");
			});
		verify(this.coordinator).start(eq(ReplicationMode.SECONDARY), eq(StartOptions.NONE), anyString());
	}

	@Test
	void checkpointNeedsNoBody() {
		given(this.coordinator.checkpoint(anyString()))
			.willReturn(report(Operation.CHECKPOINT, OperationOutcome.SUCCEEDED));
		assertThat(this.mvc.post().uri("/api/v1/replication/checkpoint")).hasStatusOk()
			.bodyJson()
			.extractingPath("$.operation")
			.isEqualTo("checkpoint");
	}

	@Test
	void stopPassesTheFailoverFlag() {
		given(this.coordinator.stop(eq(true), anyString())).willReturn(report(Operation.STOP, OperationOutcome.NOOP));
		assertThat(post("/api/v1/replication/stop", "{\"failover\":true}")).hasStatusOk()
			.bodyJson()
			.satisfies((json) -> {
				assertThat(json).extractingPath("$.outcome").isEqualTo("noop");
				assertThat(json).extractingPath("$.failover").isEqualTo(true);
			});
	}

	@ParameterizedTest
	@ValueSource(strings = { "{\"mode\":", "not json", "{\"mode\":\"tertiary\"}", "{}", "{\"mode\":null}",
			"{\"mode\":42}", "[]", "\"primary\"", "{\"mode\":\"primary\"} trailing" })
	void malformedOrInvalidStartIsBadRequest(String body) {
		MvcTestResult result = post("/api/v1/replication/start", body);
		assertThat(result).hasStatus(HttpStatus.BAD_REQUEST)
			.hasContentType(MediaType.APPLICATION_PROBLEM_JSON)
			.bodyJson()
			.satisfies((json) -> {
				assertThat(json).extractingPath("$.status").isEqualTo(400);
				assertThat(json).extractingPath("$.type").asString().startsWith("urn:lockstep:problem:");
				assertThat(json).extractingPath("$.detail")
					.asString()
					.doesNotContain("dev.lockstep", "Exception", "java.");
			});
		verifyNoInteractions(this.coordinator);
	}

	@Test
	void unknownModeNamesTheAllowedValues() {
		assertThat(post("/api/v1/replication/start", "{\"mode\":\"tertiary\"}")).bodyJson()
			.extractingPath("$.detail")
			.asString()
			.contains("'mode'", "tertiary", "primary", "secondary");
	}

	@ParameterizedTest
	@ValueSource(strings = { "", "{}", "{\"failover\":\"yes\"}", "{\"failover\":1}", "{\"failover\":\"true\"}",
			"{\"failover\":null}" })
	void missingOrWronglyTypedFailoverIsBadRequest(String body) {
		assertThat(post("/api/v1/replication/stop", body)).hasStatus(HttpStatus.BAD_REQUEST)
			.hasContentType(MediaType.APPLICATION_PROBLEM_JSON)
			.bodyJson()
			.extractingPath("$.detail")
			.asString()
			.isNotBlank();
		verifyNoInteractions(this.coordinator);
	}

	@Test
	void conflictCarriesStateAndRunningOperation() {
		given(this.coordinator.stop(anyBoolean(), anyString())).willThrow(new OperationConflictException(
				"Cannot stop: a start operation (op-0) is running", CoordinatorState.IDLE, Operation.START));
		assertThat(post("/api/v1/replication/stop", "{\"failover\":false}")).hasStatus(HttpStatus.CONFLICT)
			.hasContentType(MediaType.APPLICATION_PROBLEM_JSON)
			.bodyJson()
			.satisfies((json) -> {
				assertThat(json).extractingPath("$.type").isEqualTo("urn:lockstep:problem:operation-conflict");
				assertThat(json).extractingPath("$.state").isEqualTo("IDLE");
				assertThat(json).extractingPath("$.runningOperation").isEqualTo("start");
				assertThat(json).extractingPath("$.detail").asString().contains("start operation");
			});
	}

	@Test
	void wrongStateConflictHasNoRunningOperation() {
		given(this.coordinator.checkpoint(anyString())).willThrow(
				new OperationConflictException("A checkpoint needs running replication", CoordinatorState.IDLE, null));
		assertThat(this.mvc.post().uri("/api/v1/replication/checkpoint")).hasStatus(HttpStatus.CONFLICT)
			.bodyJson()
			.satisfies((json) -> {
				assertThat(json).extractingPath("$.state").isEqualTo("IDLE");
				assertThat(json).doesNotHavePath("$.runningOperation");
			});
	}

	@Test
	void participantFailureIsBadGatewayWithTheReport() {
		given(this.coordinator.start(any(), any(), anyString())).willReturn(report(Operation.START,
				OperationOutcome.FAILED, new StepReport("a", StepAction.START, StepOutcome.SUCCEEDED, 1, null),
				new StepReport("disk0", StepAction.START, StepOutcome.FAILED, 2, "peer replica export missing"),
				new StepReport("a", StepAction.COMPENSATE, StepOutcome.SUCCEEDED, 1, null)));
		assertThat(post("/api/v1/replication/start", "{\"mode\":\"primary\"}")).hasStatus(HttpStatus.BAD_GATEWAY)
			.hasContentType(MediaType.APPLICATION_PROBLEM_JSON)
			.bodyJson()
			.satisfies((json) -> {
				assertThat(json).extractingPath("$.type").isEqualTo("urn:lockstep:problem:participant-failed");
				assertThat(json).extractingPath("$.participant").isEqualTo("disk0");
				assertThat(json).extractingPath("$.detail")
					.isEqualTo("Participant 'disk0' failed in start: peer replica export missing. The coordinator "
							+ "is now RUNNING; see the report for every step.");
				assertThat(json).extractingPath("$.report.steps[2].action").isEqualTo("compensate");
				assertThat(json).extractingPath("$.report.outcome").isEqualTo("failed");
			});
	}

	@Test
	void participantTimeoutIsGatewayTimeout() {
		given(this.coordinator.checkpoint(anyString())).willReturn(report(Operation.CHECKPOINT, OperationOutcome.FAILED,
				new StepReport("database", StepAction.CHECKPOINT, StepOutcome.TIMED_OUT, 5000, "did not return")));
		assertThat(this.mvc.post().uri("/api/v1/replication/checkpoint")).hasStatus(HttpStatus.GATEWAY_TIMEOUT)
			.bodyJson()
			.satisfies((json) -> {
				assertThat(json).extractingPath("$.type").isEqualTo("urn:lockstep:problem:participant-timed-out");
				assertThat(json).extractingPath("$.participant").isEqualTo("database");
				assertThat(json).extractingPath("$.detail")
					.isEqualTo("Participant 'database' timed out in checkpoint: did not return. The coordinator is "
							+ "now RUNNING; see the report for every step.");
				assertThat(json).extractingPath("$.report.steps[0].outcome").isEqualTo("timed_out");
			});
	}

	@Test
	void statusShowsStateModeAndParticipants() {
		given(this.coordinator.status())
			.willReturn(new ReplicationStatus(CoordinatorState.RUNNING, ReplicationMode.PRIMARY,
					List.of(new ParticipantStatus("database", 10, ParticipantKind.REMOTE, true, "lagging", Map.of())),
					null, null));
		assertThat(this.mvc.get().uri("/api/v1/replication")).hasStatusOk().bodyJson().satisfies((json) -> {
			assertThat(json).extractingPath("$.state").isEqualTo("RUNNING");
			assertThat(json).extractingPath("$.mode").isEqualTo("primary");
			assertThat(json).extractingPath("$.participants[0].kind").isEqualTo("remote");
			assertThat(json).extractingPath("$.participants[0].order").isEqualTo(10);
			assertThat(json).extractingPath("$.participants[0].lastError").isEqualTo("lagging");
		});
	}

	@Test
	void errorsListsEveryError() {
		given(this.sweep.sweep()).willReturn(new SweepResult(false,
				List.of(new ParticipantError("a", "one"), new ParticipantError("b", "two")), NOW, true));
		assertThat(this.mvc.get().uri("/api/v1/replication/errors")).hasStatusOk().bodyJson().satisfies((json) -> {
			assertThat(json).extractingPath("$.healthy").isEqualTo(false);
			assertThat(json).extractingPath("$.errors[1].participant").isEqualTo("b");
			assertThat(json).extractingPath("$.errors[1].message").isEqualTo("two");
			assertThat(json).extractingPath("$.checkedAt").isEqualTo("2026-11-26T10:00:00Z");
			assertThat(json).doesNotHavePath("$.complete");
		});
	}

	@Test
	void operationsHonoursTheLimit() {
		given(this.coordinator.operations(anyInt()))
			.willReturn(List.of(report(Operation.CHECKPOINT, OperationOutcome.SUCCEEDED)));
		assertThat(this.mvc.get().uri("/api/v1/replication/operations?limit=5")).hasStatusOk()
			.bodyJson()
			.extractingPath("$[0].id")
			.isEqualTo("op-1");
		verify(this.coordinator).operations(5);
	}

	@ParameterizedTest
	@ValueSource(strings = { "0", "101", "-1", "abc", "99999999999999999999" })
	void outOfRangeLimitIsBadRequest(String limit) {
		assertThat(this.mvc.get().uri("/api/v1/replication/operations?limit=" + limit))
			.hasStatus(HttpStatus.BAD_REQUEST)
			.hasContentType(MediaType.APPLICATION_PROBLEM_JSON)
			.bodyJson()
			.extractingPath("$.detail")
			.asString()
			.contains("limit");
	}

	@ParameterizedTest
	@ValueSource(strings = { "99999999999", "-99999999999" })
	void limitTooLargeForANumberIsOutOfRangeWithTheRange(String limit) {
		assertThat(this.mvc.get().uri("/api/v1/replication/operations?limit=" + limit))
			.hasStatus(HttpStatus.BAD_REQUEST)
			.bodyJson()
			.satisfies((json) -> {
				assertThat(json).extractingPath("$.type").isEqualTo("urn:lockstep:problem:invalid-request");
				assertThat(json).extractingPath("$.detail")
					.isEqualTo("'limit' is out of range: " + limit + "; expected 1 to 100");
			});
	}

	@ParameterizedTest
	@ValueSource(strings = { "{}", "{\"mode\":null}" })
	void missingModeIsAnInvalidRequest(String body) {
		assertThat(post("/api/v1/replication/start", body)).hasStatus(HttpStatus.BAD_REQUEST)
			.bodyJson()
			.satisfies((json) -> {
				assertThat(json).extractingPath("$.type").isEqualTo("urn:lockstep:problem:invalid-request");
				assertThat(json).extractingPath("$.detail").isEqualTo("'mode' must not be null");
			});
	}

	@ParameterizedTest
	@ValueSource(strings = { "not json", "{\"mode\":\"tertiary\"}", "{\"mode\":42}", "[]" })
	void unreadableStartIsAMalformedRequest(String body) {
		assertThat(post("/api/v1/replication/start", body)).hasStatus(HttpStatus.BAD_REQUEST)
			.bodyJson()
			.extractingPath("$.type")
			.isEqualTo("urn:lockstep:problem:malformed-request");
	}

	@Test
	void unknownOperationIsNotFound() {
		given(this.coordinator.operation("nope")).willReturn(Optional.empty());
		assertThat(this.mvc.get().uri("/api/v1/replication/operations/nope")).hasStatus(HttpStatus.NOT_FOUND)
			.hasContentType(MediaType.APPLICATION_PROBLEM_JSON)
			.bodyJson()
			.extractingPath("$.detail")
			.asString()
			.contains("nope");
	}

	@Test
	void unknownPathIsNotFoundProblem() {
		assertThat(this.mvc.get().uri("/api/v1/replication/nothing-here")).hasStatus(HttpStatus.NOT_FOUND)
			.hasContentType(MediaType.APPLICATION_PROBLEM_JSON);
	}

	@Test
	void wrongMethodIsMethodNotAllowed() {
		assertThat(this.mvc.delete().uri("/api/v1/replication")).hasStatus(HttpStatus.METHOD_NOT_ALLOWED)
			.hasContentType(MediaType.APPLICATION_PROBLEM_JSON)
			.bodyJson()
			.extractingPath("$.detail")
			.asString()
			.contains("GET");
		assertThat(this.mvc.get().uri("/api/v1/replication/start")).hasStatus(HttpStatus.METHOD_NOT_ALLOWED);
	}

	@Test
	void wrongContentTypeIsUnsupportedMediaType() {
		assertThat(this.mvc.post()
			.uri("/api/v1/replication/start")
			.contentType(MediaType.TEXT_PLAIN)
			.content("mode=primary")).hasStatus(HttpStatus.UNSUPPORTED_MEDIA_TYPE)
			.hasContentType(MediaType.APPLICATION_PROBLEM_JSON);
	}

	@Test
	void clientThatOnlyAcceptsHtmlGetsNotAcceptableAsProblemJson() {
		assertThat(this.mvc.post()
			.uri("/api/v1/replication/start")
			.accept(MediaType.TEXT_HTML)
			.contentType(MediaType.APPLICATION_JSON)
			.content("{")).hasStatus(HttpStatus.NOT_ACCEPTABLE).hasContentType(MediaType.APPLICATION_PROBLEM_JSON);
		verifyNoInteractions(this.coordinator);
	}

	@Test
	void unexpectedFailureIsAProblemWithoutInternals() {
		given(this.coordinator.status()).willThrow(new IllegalStateException("secret internals at /etc/x"));
		assertThat(this.mvc.get().uri("/api/v1/replication")).hasStatus(HttpStatus.INTERNAL_SERVER_ERROR)
			.hasContentType(MediaType.APPLICATION_PROBLEM_JSON)
			.bodyJson()
			.extractingPath("$.detail")
			.asString()
			.doesNotContain("secret", "/etc", "IllegalStateException");
	}

}
