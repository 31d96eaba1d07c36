package dev.lockstep.api;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.enums.ParameterIn;
import io.swagger.v3.oas.annotations.headers.Header;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;

/**
 * The error responses each kind of endpoint documents in the OpenAPI contract. Every
 * error body is {@code application/problem+json}.
 */
final class ApiProblems {

	static final String PROBLEM_JSON = "application/problem+json";

	static final String PREFER_DESCRIPTION = "`respond-async` (RFC 7240): answer `202 Accepted` as soon as the "
			+ "operation started, with the report so far (outcome `running`), a `Location` to poll and "
			+ "`Preference-Applied: respond-async`. Without it the call answers when the operation has ended.";

	static final String KEY_DESCRIPTION = "Makes the call safe to retry: a retry with the same key and the same "
			+ "body answers the first call's report, with the same id, without calling any participant again, even "
			+ "while the first call still runs. The same key with another body or another operation is refused "
			+ "with `422`. A key is kept as long as its report (lockstep.coordinator.history); a call refused "
			+ "before its operation started (`409`) does not keep its key. 1 to 255 visible ASCII characters.";

	private ApiProblems() {
	}

	/** A query that has no error of its own. */
	@Target(ElementType.METHOD)
	@Retention(RetentionPolicy.RUNTIME)
	@Documented
	@ApiResponse(responseCode = "200", description = "OK", useReturnTypeSchema = true)
	@ApiResponse(responseCode = "401", description = "No API token, or a wrong one",
			content = @Content(mediaType = PROBLEM_JSON, schema = @Schema(implementation = ProblemSchema.class)))
	@interface Query {

	}

	/** A query with parameters that can be out of range. */
	@Target(ElementType.METHOD)
	@Retention(RetentionPolicy.RUNTIME)
	@Documented
	@ApiResponse(responseCode = "200", description = "OK", useReturnTypeSchema = true)
	@ApiResponse(responseCode = "401", description = "No API token, or a wrong one",
			content = @Content(mediaType = PROBLEM_JSON, schema = @Schema(implementation = ProblemSchema.class)))
	@ApiResponse(responseCode = "400", description = "A query parameter is out of range or of the wrong type",
			content = @Content(mediaType = PROBLEM_JSON, schema = @Schema(implementation = ProblemSchema.class)))
	@interface BadRequest {

	}

	/** Errors of a lookup by id. */
	@Target(ElementType.METHOD)
	@Retention(RetentionPolicy.RUNTIME)
	@Documented
	@ApiResponse(responseCode = "200", description = "OK", useReturnTypeSchema = true)
	@ApiResponse(responseCode = "401", description = "No API token, or a wrong one",
			content = @Content(mediaType = PROBLEM_JSON, schema = @Schema(implementation = ProblemSchema.class)))
	@ApiResponse(responseCode = "404", description = "No such resource",
			content = @Content(mediaType = PROBLEM_JSON, schema = @Schema(implementation = ProblemSchema.class)))
	@interface NotFound {

	}

	/** Errors of a verify, which runs in the background. */
	@Target(ElementType.METHOD)
	@Retention(RetentionPolicy.RUNTIME)
	@Documented
	@ApiResponse(responseCode = "202", description = "Started; poll the `Location` for its progress",
			useReturnTypeSchema = true)
	@ApiResponse(responseCode = "401", description = "No API token, or a wrong one",
			content = @Content(mediaType = PROBLEM_JSON, schema = @Schema(implementation = ProblemSchema.class)))
	@ApiResponse(responseCode = "400", description = "Malformed JSON, an unknown field or a wrong type",
			content = @Content(mediaType = PROBLEM_JSON, schema = @Schema(implementation = ProblemSchema.class)))
	@ApiResponse(responseCode = "404", description = "No such disk",
			content = @Content(mediaType = PROBLEM_JSON, schema = @Schema(implementation = ProblemSchema.class)))
	@ApiResponse(responseCode = "409",
			description = "This node is not the disk's running primary, its secondary is unreachable, a verify of "
					+ "it runs already, or the disk is not replicated",
			content = @Content(mediaType = PROBLEM_JSON, schema = @Schema(implementation = ProblemSchema.class)))
	@interface Verify {

	}

	/**
	 * What every lifecycle and pair {@code POST} shares: the {@code Prefer} and
	 * {@code Idempotency-Key} headers ({@link AsyncCalls}) and their errors.
	 */
	@Target(ElementType.ANNOTATION_TYPE)
	@Retention(RetentionPolicy.RUNTIME)
	@Documented
	@Parameter(in = ParameterIn.HEADER, name = AsyncCalls.PREFER, description = ApiProblems.PREFER_DESCRIPTION,
			example = AsyncCalls.RESPOND_ASYNC, schema = @Schema(type = "string"))
	@Parameter(in = ParameterIn.HEADER, name = AsyncCalls.IDEMPOTENCY_KEY, description = ApiProblems.KEY_DESCRIPTION,
			example = "5f0c6b0e-3f4a-4d55-9a51-2b7c8f1e0d42", schema = @Schema(type = "string"))
	@ApiResponse(responseCode = "422",
			description = "The `Idempotency-Key` was first sent with another body or to another operation",
			content = @Content(mediaType = PROBLEM_JSON, schema = @Schema(implementation = ProblemSchema.class)))
	@ApiResponse(responseCode = "401", description = "No API token, or a wrong one",
			content = @Content(mediaType = PROBLEM_JSON, schema = @Schema(implementation = ProblemSchema.class)))
	@ApiResponse(responseCode = "400", description = "Malformed JSON, a missing or unknown value, or a wrong type",
			content = @Content(mediaType = PROBLEM_JSON, schema = @Schema(implementation = ProblemSchema.class)))
	@interface AsyncRequest {

	}

	/** Answers and errors of a lifecycle operation. */
	@Target(ElementType.METHOD)
	@Retention(RetentionPolicy.RUNTIME)
	@Documented
	@AsyncRequest
	@ApiResponse(responseCode = "200", description = "OK: the operation has ended", useReturnTypeSchema = true)
	@ApiResponse(responseCode = "202",
			description = "With `Prefer: respond-async`: the operation started; the body is the report so far "
					+ "(outcome `running`); poll the `Location` until the outcome is no longer `running`",
			useReturnTypeSchema = true,
			headers = {
					@Header(name = "Location",
							description = "The operation's report: /api/v1/replication/operations/{id}",
							schema = @Schema(type = "string")),
					@Header(name = "Preference-Applied", description = "`respond-async`",
							schema = @Schema(type = "string")) })
	@ApiResponse(responseCode = "409",
			description = "Wrong state, or another operation is running; the body has `state` and, if any, "
					+ "`runningOperation`",
			content = @Content(mediaType = PROBLEM_JSON, schema = @Schema(implementation = ProblemSchema.class)))
	@ApiResponse(responseCode = "502",
			description = "A participant failed the operation; the body has `participant` and the full `report`",
			content = @Content(mediaType = PROBLEM_JSON, schema = @Schema(implementation = ProblemSchema.class)))
	@ApiResponse(responseCode = "504",
			description = "A participant did not answer within its deadline; the body has `participant` and the "
					+ "full `report`",
			content = @Content(mediaType = PROBLEM_JSON, schema = @Schema(implementation = ProblemSchema.class)))
	@interface Lifecycle {

	}

	/** Answers and errors of a pair operation. */
	@Target(ElementType.METHOD)
	@Retention(RetentionPolicy.RUNTIME)
	@Documented
	@AsyncRequest
	@ApiResponse(responseCode = "200", description = "OK: the pair operation has ended", useReturnTypeSchema = true)
	@ApiResponse(responseCode = "202",
			description = "With `Prefer: respond-async`: the pair operation started; the body is the pair report so "
					+ "far (outcome `running`); poll the `Location` until the outcome is no longer `running`",
			useReturnTypeSchema = true,
			headers = {
					@Header(name = "Location", description = "The pair report: /api/v1/pair/operations/{id}",
							schema = @Schema(type = "string")),
					@Header(name = "Preference-Applied", description = "`respond-async`",
							schema = @Schema(type = "string")) })
	@ApiResponse(responseCode = "409",
			description = "No peer is configured (`pair-not-configured`), or the pair cannot run this now: a node "
					+ "runs an operation, the peer cannot be reached, or the nodes are not in the state it needs "
					+ "(`pair-refused`); nothing was called",
			content = @Content(mediaType = PROBLEM_JSON, schema = @Schema(implementation = ProblemSchema.class)))
	@ApiResponse(responseCode = "502",
			description = "A node failed its part; the body has the pair `report`, whose steps name the node and "
					+ "the participant",
			content = @Content(mediaType = PROBLEM_JSON, schema = @Schema(implementation = ProblemSchema.class)))
	@interface Pair {

	}

}
