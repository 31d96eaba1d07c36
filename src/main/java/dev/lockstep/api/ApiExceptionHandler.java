package dev.lockstep.api;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import dev.lockstep.logging.LogText;
import dev.lockstep.pair.PairFailedException;
import dev.lockstep.pair.PairRefusedException;
import dev.lockstep.replication.FailoverRefusedException;
import dev.lockstep.replication.Operation;
import dev.lockstep.replication.OperationConflictException;
import dev.lockstep.replication.OperationReport;
import dev.lockstep.replication.StepOutcome;
import dev.lockstep.replication.StepReport;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.apache.tomcat.util.http.InvalidParameterException;
import org.jspecify.annotations.Nullable;
import tools.jackson.core.JacksonException;
import tools.jackson.core.TokenStreamLocation;
import tools.jackson.core.exc.StreamReadException;
import tools.jackson.databind.exc.InvalidFormatException;
import tools.jackson.databind.exc.MismatchedInputException;
import tools.jackson.databind.exc.UnrecognizedPropertyException;
import tools.jackson.databind.exc.ValueInstantiationException;

import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.security.web.firewall.RequestRejectedException;
import org.springframework.validation.FieldError;
import org.springframework.web.HttpMediaTypeNotAcceptableException;
import org.springframework.web.HttpMediaTypeNotSupportedException;
import org.springframework.web.HttpRequestMethodNotSupportedException;
import org.springframework.web.bind.MethodArgumentNotValidException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.ServletWebRequest;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.method.annotation.HandlerMethodValidationException;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;
import org.springframework.web.servlet.resource.NoResourceFoundException;
import org.springframework.web.server.ResponseStatusException;

/**
 * Turns every error into an RFC 9457 {@code application/problem+json} body with a
 * specific {@code type} and a {@code detail} a person can act on. Details never carry
 * exception class names, stack traces or file paths.
 */
@RestControllerAdvice
class ApiExceptionHandler extends ResponseEntityExceptionHandler {

	private static final Log logger = LogFactory.getLog(ApiExceptionHandler.class);

	private static final Pattern WHOLE_NUMBER = Pattern.compile("[+-]?[0-9]+");

	@ExceptionHandler
	ResponseEntity<Object> conflict(OperationConflictException ex, HttpServletRequest request) {
		ProblemDetail problem = problem(ProblemType.OPERATION_CONFLICT, ex.getMessage(), request);
		problem.setProperty("state", ex.state());
		Operation running = ex.runningOperation();
		if (running != null) {
			problem.setProperty("runningOperation", running);
		}
		return respond(problem, ProblemType.OPERATION_CONFLICT);
	}

	@ExceptionHandler
	ResponseEntity<Object> failoverRefused(FailoverRefusedException ex, HttpServletRequest request) {
		ProblemDetail problem = problem(ProblemType.FAILOVER_REFUSED, ex.getMessage(), request);
		problem.setProperty("peer", ex.check().peer());
		problem.setProperty("peerAnswer", ex.check().answer());
		return respond(problem, ProblemType.FAILOVER_REFUSED);
	}

	@ExceptionHandler
	ResponseEntity<Object> pairRefused(PairRefusedException ex, HttpServletRequest request) {
		ProblemType type = ex.unconfigured() ? ProblemType.PAIR_NOT_CONFIGURED : ProblemType.PAIR_REFUSED;
		return respond(problem(type, ex.getMessage(), request), type);
	}

	@ExceptionHandler
	ResponseEntity<Object> pairFailed(PairFailedException ex, HttpServletRequest request) {
		ProblemDetail problem = problem(ProblemType.PAIR_FAILED,
				ex.report().error() + ". See the report for every step on both nodes.", request);
		problem.setProperty("report", ex.report());
		return respond(problem, ProblemType.PAIR_FAILED);
	}

	@ExceptionHandler
	ResponseEntity<Object> operationFailed(OperationFailedException ex, HttpServletRequest request) {
		OperationReport report = ex.report();
		StepReport failure = report.firstFailure().orElseThrow();
		ProblemType type = (failure.outcome() == StepOutcome.TIMED_OUT) ? ProblemType.PARTICIPANT_TIMED_OUT
				: ProblemType.PARTICIPANT_FAILED;
		String detail = "Participant '" + failure.participant() + "' " + describe(failure) + " The coordinator is now "
				+ report.state() + "; see the report for every step.";
		ProblemDetail problem = problem(type, detail, request);
		problem.setProperty("participant", failure.participant());
		problem.setProperty("report", report);
		return respond(problem, type);
	}

	/**
	 * Describes a failed step as one sentence. The first failure of an operation is
	 * always a step of the operation itself (a compensation only follows a failed start).
	 */
	private static String describe(StepReport failure) {
		String what = (failure.outcome() == StepOutcome.TIMED_OUT) ? "timed out" : "failed";
		String error = (failure.error() != null) ? failure.error().strip() : "";
		if (error.isEmpty()) {
			return what + " in " + failure.action().value() + ".";
		}
		boolean ended = error.endsWith(".") || error.endsWith("!") || error.endsWith("?");
		return what + " in " + failure.action().value() + ": " + error + (ended ? "" : ".");
	}

	@ExceptionHandler
	ResponseEntity<Object> idempotencyKeyReused(IdempotencyKeyReusedException ex, HttpServletRequest request) {
		return respond(problem(ProblemType.IDEMPOTENCY_KEY_REUSED, ex.getMessage(), request),
				ProblemType.IDEMPOTENCY_KEY_REUSED);
	}

	@ExceptionHandler
	ResponseEntity<Object> notFound(NotFoundException ex, HttpServletRequest request) {
		return respond(problem(ProblemType.NOT_FOUND, ex.getMessage(), request), ProblemType.NOT_FOUND);
	}

	@ExceptionHandler({ RequestRejectedException.class, InvalidParameterException.class })
	ResponseEntity<Object> rejected(Exception ex, HttpServletRequest request) {
		return respond(
				problem(ProblemType.MALFORMED_REQUEST,
						"The request contains characters or parameters that are not allowed", request),
				ProblemType.MALFORMED_REQUEST);
	}

	@ExceptionHandler
	ResponseEntity<Object> unexpected(Exception ex, HttpServletRequest request) {
		logger.error("Unexpected error handling " + LogText.quote(request.getMethod()) + " "
				+ LogText.quote(request.getRequestURI()), ex);
		return respond(problem(ProblemType.INTERNAL,
				"The request could not be completed because of an internal " + "error; it has been logged", request),
				ProblemType.INTERNAL);
	}

	/**
	 * A body that passed the size limit while it was read is {@code 413}, not a malformed
	 * body, whatever the reader made of the cut-off stream.
	 */
	@Override
	protected @Nullable ResponseEntity<Object> handleHttpMessageNotReadable(HttpMessageNotReadableException ex,
			HttpHeaders headers, HttpStatusCode status, WebRequest request) {
		RequestBodyTooLargeException tooLarge = tooLarge(ex);
		if (tooLarge == null) {
			return super.handleHttpMessageNotReadable(ex, headers, status, request);
		}
		ProblemDetail problem = ProblemDetail.forStatusAndDetail(ProblemType.PAYLOAD_TOO_LARGE.status(),
				RequestBodyTooLargeException.detail(tooLarge.limit()));
		HttpHeaders closing = new HttpHeaders();
		closing.putAll(headers);
		closing.setConnection("close");
		return handleExceptionInternal(ex, problem, closing, ProblemType.PAYLOAD_TOO_LARGE.status(), request);
	}

	private static @Nullable RequestBodyTooLargeException tooLarge(Throwable ex) {
		for (Throwable cause = ex; cause != null; cause = (cause.getCause() != cause) ? cause.getCause() : null) {
			if (cause instanceof RequestBodyTooLargeException tooLarge) {
				return tooLarge;
			}
		}
		return null;
	}

	@Override
	protected @Nullable ResponseEntity<Object> handleExceptionInternal(Exception ex, @Nullable Object body,
			HttpHeaders headers, HttpStatusCode statusCode, WebRequest request) {
		ProblemType type = typeOf(ex, statusCode);
		ProblemDetail problem = (body instanceof ProblemDetail detail) ? detail : ProblemDetail.forStatus(statusCode);
		problem.setType(type.type());
		problem.setTitle(type.title());
		problem.setDetail(detail(ex, problem.getDetail()));
		if (request instanceof ServletWebRequest servlet && problem.getInstance() == null) {
			problem.setInstance(instance(servlet.getRequest()));
		}
		HttpHeaders problemHeaders = new HttpHeaders();
		problemHeaders.putAll(headers);
		problemHeaders.setContentType(MediaType.APPLICATION_PROBLEM_JSON);
		return super.handleExceptionInternal(ex, problem, problemHeaders, statusCode, request);
	}

	private static ProblemType typeOf(Exception ex, HttpStatusCode status) {
		if (status.value() == ProblemType.PAYLOAD_TOO_LARGE.status().value()) {
			return ProblemType.PAYLOAD_TOO_LARGE;
		}
		if (ex instanceof HttpMessageNotReadableException) {
			return ProblemType.MALFORMED_REQUEST;
		}
		if (ex instanceof NoResourceFoundException) {
			return ProblemType.NOT_FOUND;
		}
		if (ex instanceof HttpRequestMethodNotSupportedException) {
			return ProblemType.METHOD_NOT_ALLOWED;
		}
		if (ex instanceof HttpMediaTypeNotSupportedException) {
			return ProblemType.UNSUPPORTED_MEDIA_TYPE;
		}
		if (ex instanceof HttpMediaTypeNotAcceptableException) {
			return ProblemType.NOT_ACCEPTABLE;
		}
		return ProblemType.forStatus(status.value());
	}

	private static @Nullable String detail(Exception ex, @Nullable String fallback) {
		if (ex instanceof HttpMessageNotReadableException && tooLarge(ex) != null) {
			return fallback;
		}
		if (ex instanceof HttpMessageNotReadableException unreadable) {
			return unreadable(unreadable);
		}
		if (ex instanceof MethodArgumentNotValidException invalid) {
			return invalid.getBindingResult()
				.getFieldErrors()
				.stream()
				.map(ApiExceptionHandler::describe)
				.sorted()
				.collect(Collectors.joining("; "));
		}
		if (ex instanceof HandlerMethodValidationException invalid) {
			return invalid.getParameterValidationResults()
				.stream()
				.map((result) -> "'" + result.getMethodParameter().getParameterName() + "' "
						+ result.getResolvableErrors()
							.stream()
							.map((error) -> error.getDefaultMessage())
							.collect(Collectors.joining(", ")))
				.collect(Collectors.joining("; "));
		}
		if (ex instanceof MethodArgumentTypeMismatchException mismatch && outOfRange(mismatch)) {
			return "'" + mismatch.getName() + "' is out of range: " + mismatch.getValue() + range(mismatch);
		}
		if (ex instanceof MethodArgumentTypeMismatchException mismatch) {
			return "'" + mismatch.getName() + "' has an invalid value '" + mismatch.getValue() + "'"
					+ ((mismatch.getRequiredType() != null) ? ": expected " + typeName(mismatch.getRequiredType())
							: "");
		}
		if (ex instanceof NoResourceFoundException) {
			return "There is nothing at this path; see /swagger-ui.html for the API";
		}
		if (ex instanceof HttpRequestMethodNotSupportedException unsupported) {
			return "Method " + unsupported.getMethod() + " is not supported here; use "
					+ String.join(" or ", (unsupported.getSupportedMethods() != null)
							? List.of(unsupported.getSupportedMethods()) : List.of("another method"));
		}
		if (ex instanceof HttpMediaTypeNotSupportedException unsupported) {
			return "Content type " + ((unsupported.getContentType() != null) ? unsupported.getContentType() : "(none)")
					+ " is not supported; send application/json";
		}
		if (ex instanceof HttpMediaTypeNotAcceptableException notAcceptable) {
			List<MediaType> supported = notAcceptable.getSupportedMediaTypes();
			String answers = (supported.size() == 1) ? supported.get(0).toString() : "application/json";
			return "This endpoint answers with " + answers + "; accept it";
		}
		// A controller's own refusal (not a subclass such as a validation failure).
		if (ex.getClass() == ResponseStatusException.class && ((ResponseStatusException) ex).getReason() != null) {
			return ((ResponseStatusException) ex).getReason();
		}
		return fallback;
	}

	/**
	 * Whether a value that did not convert is a whole number, too large for its type.
	 */
	private static boolean outOfRange(MethodArgumentTypeMismatchException mismatch) {
		Class<?> type = mismatch.getRequiredType();
		boolean integral = type == int.class || type == Integer.class || type == long.class || type == Long.class;
		return integral && mismatch.getValue() instanceof String value && WHOLE_NUMBER.matcher(value).matches();
	}

	/** The allowed range from the parameter's constraints, as the end of a sentence. */
	private static String range(MethodArgumentTypeMismatchException mismatch) {
		Min min = mismatch.getParameter().getParameterAnnotation(Min.class);
		Max max = mismatch.getParameter().getParameterAnnotation(Max.class);
		if (min != null && max != null) {
			return "; expected " + min.value() + " to " + max.value();
		}
		return "; expected a smaller number";
	}

	private static String describe(FieldError error) {
		return "'" + error.getField() + "' " + error.getDefaultMessage();
	}

	private static String unreadable(HttpMessageNotReadableException ex) {
		Throwable cause = ex.getCause();
		if (cause instanceof UnrecognizedPropertyException unrecognized) {
			return "Unknown field '" + unrecognized.getPropertyName() + "'";
		}
		if (cause instanceof ValueInstantiationException instantiation) {
			Throwable reason = (instantiation.getCause() != null) ? instantiation.getCause() : instantiation;
			return "Invalid value for " + field(instantiation) + ": " + safe(reason.getMessage());
		}
		if (cause instanceof InvalidFormatException invalid) {
			return "Invalid value '" + invalid.getValue() + "' for " + field(invalid) + ": expected "
					+ typeName(invalid.getTargetType());
		}
		if (cause instanceof MismatchedInputException mismatched) {
			if (mismatched.getPath().isEmpty()) {
				return "The request body must be a JSON object";
			}
			return "Wrong type for " + field(mismatched) + ": expected " + typeName(mismatched.getTargetType());
		}
		if (cause instanceof StreamReadException malformed) {
			TokenStreamLocation location = malformed.getLocation();
			return "Malformed JSON"
					+ ((location != null && location.getLineNr() > 0)
							? " at line " + location.getLineNr() + ", column " + location.getColumnNr() : "")
					+ ": " + safe(malformed.getOriginalMessage());
		}
		if (cause instanceof JacksonException) {
			return "The request body is not valid JSON for this endpoint";
		}
		return "A JSON request body is required";
	}

	private static String field(JacksonException ex) {
		String path = ex.getPath()
			.stream()
			.map((reference) -> (reference.getPropertyName() != null) ? reference.getPropertyName()
					: "[" + reference.getIndex() + "]")
			.collect(Collectors.joining("."));
		return path.isEmpty() ? "the request body" : "'" + path + "'";
	}

	private static String typeName(@Nullable Class<?> type) {
		if (type == null) {
			return "another type";
		}
		if (type == Boolean.class || type == boolean.class) {
			return "true or false";
		}
		if (type.isEnum()) {
			return java.util.Arrays.stream(type.getEnumConstants())
				.map((constant) -> constant.toString())
				.collect(Collectors.joining(" or "));
		}
		if (Number.class.isAssignableFrom(type) || type.isPrimitive()) {
			return "a number";
		}
		if (type == String.class) {
			return "a string";
		}
		return "a JSON " + (type.isRecord() || !type.getName().startsWith("java.") ? "object" : "value");
	}

	/** Keeps parser messages readable and free of class names and source excerpts. */
	private static String safe(@Nullable String message) {
		if (message == null) {
			return "invalid input";
		}
		String firstLine = message.lines().findFirst().orElse("invalid input");
		return firstLine.replaceAll("`[^`]*`", "value").replaceAll("\\(class [^)]*\\)", "").trim();
	}

	static ProblemDetail problem(ProblemType type, @Nullable String detail, HttpServletRequest request) {
		ProblemDetail problem = ProblemDetail.forStatusAndDetail(type.status(), detail);
		problem.setType(type.type());
		problem.setTitle(type.title());
		problem.setInstance(instance(request));
		return problem;
	}

	/** The request path as the problem's instance, or none if it is not a valid URI. */
	static @Nullable URI instance(HttpServletRequest request) {
		return instance(request.getRequestURI());
	}

	static @Nullable URI instance(String path) {
		try {
			return new URI(null, null, path, null);
		}
		catch (URISyntaxException | RuntimeException ex) {
			return null;
		}
	}

	static ResponseEntity<Object> respond(ProblemDetail problem, ProblemType type) {
		return ResponseEntity.status(type.status()).contentType(MediaType.APPLICATION_PROBLEM_JSON).body(problem);
	}

}
