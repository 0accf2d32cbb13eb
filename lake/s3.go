package lake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// defaultRegion is used when the credential chain configures none; S3-compatible
// servers generally accept it, and AWS redirects are not followed anyway.
const defaultRegion = "us-east-1"

// putIDMeta is the user-metadata key (x-amz-meta-lake-put-id) holding a random
// token per Put. It lets a create-only Put that was retried after a lost
// response tell its own earlier, successful attempt from another writer's.
const putIDMeta = "lake-put-id"

// s3Store keeps each object at s3://bucket/<base><key>.
type s3Store struct {
	client *s3.Client
	bucket string
	base   string // "" or a prefix ending in "/"
}

func openS3(ctx context.Context, bucket, path string, opts Options, optFns ...func(*s3.Options)) (*s3Store, error) {
	if err := checkBucket(bucket); err != nil {
		return nil, fmt.Errorf("lake: open s3://%s%s: %w", bucket, path, err)
	}
	base := strings.Trim(path, "/")
	if base != "" {
		if err := checkKey(base); err != nil {
			return nil, fmt.Errorf("lake: open s3://%s%s: prefix: %w", bucket, path, err)
		}
		base += "/"
	}
	// The standard chain: environment, shared config and credentials files,
	// SSO, web identity, container and instance roles. AWS_ENDPOINT_URL_S3
	// and AWS_ENDPOINT_URL are read here and applied by the S3 client.
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("lake: open s3://%s/%s: load AWS config: %w", bucket, base, err)
	}
	if cfg.Region == "" {
		cfg.Region = defaultRegion
	}
	fns := append([]func(*s3.Options){func(o *s3.Options) { o.UsePathStyle = opts.S3PathStyle }}, optFns...)
	return &s3Store{client: s3.NewFromConfig(cfg, fns...), bucket: bucket, base: base}, nil
}

// checkBucket applies the S3 bucket naming rules that matter for URLs.
func checkBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket name %q must be 3 to 63 characters", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return fmt.Errorf("bucket name %q may only hold a-z, 0-9, '-' and '.'", b)
		}
	}
	return nil
}

func (s *s3Store) URL() string  { return "s3://" + s.bucket + "/" + strings.TrimSuffix(s.base, "/") }
func (s *s3Store) Close() error { return nil }

// s3Status extracts the S3 error code and HTTP status of a failed call.
func s3Status(err error) (code string, status int) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return code, status
}

func isS3NotFound(err error) bool {
	code, status := s3Status(err)
	if code == "NoSuchBucket" {
		return false // a misconfigured store, not a missing object
	}
	return status == http.StatusNotFound || code == "NoSuchKey" || code == "NotFound"
}

// wrap adds the operation and key, and ErrNotFound for 404s.
func (s *s3Store) wrap(op, key string, err error) error {
	if isS3NotFound(err) {
		return fmt.Errorf("lake: %s s3://%s/%s%s: %w (%v)", op, s.bucket, s.base, key, ErrNotFound, err)
	}
	return fmt.Errorf("lake: %s s3://%s/%s%s: %w", op, s.bucket, s.base, key, err)
}

func (s *s3Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, fmt.Errorf("lake: get: %w", err)
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(s.base + key)})
	if err != nil {
		return nil, s.wrap("get", key, err)
	}
	return out.Body, nil
}

func (s *s3Store) GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, fmt.Errorf("lake: getrange: %w", err)
	}
	if err := checkRange(off, n); err != nil {
		return nil, fmt.Errorf("lake: getrange %s: %w", key, err)
	}
	rng := fmt.Sprintf("bytes=%d-", off)
	if last := off + n - 1; last >= off { // no overflow
		rng += fmt.Sprint(last)
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(s.base + key), Range: &rng})
	if err != nil {
		// 416: the object exists but the range starts at or past its end
		// (S3 answers so for any range of an empty object too).
		if code, status := s3Status(err); status == http.StatusRequestedRangeNotSatisfiable || code == "InvalidRange" {
			return io.NopCloser(strings.NewReader("")), nil
		}
		return nil, s.wrap("getrange", key, err)
	}
	return out.Body, nil
}

func (s *s3Store) Stat(ctx context.Context, key string) (Object, error) {
	if err := checkKey(key); err != nil {
		return Object{}, fmt.Errorf("lake: stat: %w", err)
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(s.base + key)})
	if err != nil {
		return Object{}, s.wrap("stat", key, err)
	}
	return headObject(key, out), nil
}

func headObject(key string, out *s3.HeadObjectOutput) Object {
	return Object{
		Key:      key,
		Size:     aws.ToInt64(out.ContentLength),
		ETag:     strings.Trim(aws.ToString(out.ETag), `"`),
		Modified: aws.ToTime(out.LastModified),
	}
}

func (s *s3Store) Put(ctx context.Context, key string, body io.ReadSeeker, opts PutOptions) (Object, error) {
	if err := checkKey(key); err != nil {
		return Object{}, fmt.Errorf("lake: put: %w", err)
	}
	size, err := body.Seek(0, io.SeekEnd)
	if err == nil {
		_, err = body.Seek(0, io.SeekStart)
	}
	if err != nil {
		return Object{}, fmt.Errorf("lake: put %s: seek body: %w", key, err)
	}
	var id [16]byte
	_, _ = rand.Read(id[:]) // never fails (crypto/rand panics on failure)
	putID := hex.EncodeToString(id[:])
	contentType := opts.ContentType
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	in := &s3.PutObjectInput{
		Bucket:        &s.bucket,
		Key:           aws.String(s.base + key),
		Body:          body,
		ContentLength: aws.Int64(size),
		ContentType:   &contentType,
		Metadata:      map[string]string{putIDMeta: putID},
		// The SDK computes CRC32C over the body and sends it; the server
		// recomputes it and rejects the upload (BadDigest) on mismatch.
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c,
	}
	if opts.CreateOnly {
		in.IfNoneMatch = aws.String("*")
	}
	out, err := s.client.PutObject(ctx, in)
	if err != nil {
		if opts.CreateOnly && isS3Conflict(err) {
			return s.resolveConflict(ctx, key, putID, err)
		}
		return Object{}, s.wrap("put", key, err)
	}
	modified := time.Now()
	if raw, ok := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response); ok {
		if t, err := http.ParseTime(raw.Header.Get("Last-Modified")); err == nil {
			modified = t
		} else if t, err := http.ParseTime(raw.Header.Get("Date")); err == nil {
			modified = t
		}
	}
	return Object{Key: key, Size: size, ETag: strings.Trim(aws.ToString(out.ETag), `"`), Modified: modified}, nil
}

// isS3Conflict reports whether a conditional write failed because the key
// exists (412 PreconditionFailed) or a concurrent conditional write to the
// same key was in flight (409 ConditionalRequestConflict).
func isS3Conflict(err error) bool {
	code, status := s3Status(err)
	return status == http.StatusPreconditionFailed || status == http.StatusConflict ||
		code == "PreconditionFailed" || code == "ConditionalRequestConflict"
}

// resolveConflict decides a create-only Put that the server refused: if the
// object holds this Put's token, an earlier attempt of this very call landed
// and only its response was lost, so the Put succeeded. Otherwise another
// writer won.
func (s *s3Store) resolveConflict(ctx context.Context, key, putID string, putErr error) (Object, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(s.base + key)})
	if err == nil && out.Metadata[putIDMeta] == putID {
		return headObject(key, out), nil
	}
	// Also when the HEAD finds nothing after a 409: a concurrent writer was
	// in flight, and of concurrent create-only writers at most one may win.
	return Object{}, fmt.Errorf("lake: put s3://%s/%s%s: %w (%v)", s.bucket, s.base, key, ErrExists, putErr)
}

func (s *s3Store) List(ctx context.Context, prefix, startAfter string, limit int) ([]Object, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, fmt.Errorf("lake: list: %w", err)
	}
	in := &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(s.base + prefix)}
	if startAfter != "" {
		in.StartAfter = aws.String(s.base + startAfter)
	}
	var objs []Object
	for {
		if limit > 0 {
			in.MaxKeys = aws.Int32(int32(min(limit-len(objs), 1000)))
		}
		out, err := s.client.ListObjectsV2(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("lake: list s3://%s/%s%s after %q: %w", s.bucket, s.base, prefix, startAfter, err)
		}
		for _, o := range out.Contents {
			k := strings.TrimPrefix(aws.ToString(o.Key), s.base)
			if strings.HasSuffix(k, "/") {
				continue // a "directory marker" some tools create; never a lake key
			}
			objs = append(objs, Object{
				Key:      k,
				Size:     aws.ToInt64(o.Size),
				ETag:     strings.Trim(aws.ToString(o.ETag), `"`),
				Modified: aws.ToTime(o.LastModified),
			})
			if limit > 0 && len(objs) >= limit {
				return objs, nil
			}
		}
		if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
			return objs, nil
		}
		in.ContinuationToken = out.NextContinuationToken
	}
}

func (s *s3Store) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("lake: delete: %w", err)
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.base + key)})
	if err != nil && !isS3NotFound(err) {
		return s.wrap("delete", key, err)
	}
	return nil
}
